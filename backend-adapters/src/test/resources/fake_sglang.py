"""A fake SGLang launcher for the adapter's tests: takes SGLang's launch_server arguments, translates the ones that
differ (--model-path, --page-size, --enable-cache-report) to the fake vLLM server's, and runs it in its place.
usage: python3 fake_sglang.py FAKE_VLLM_PY --model-path M --port P --page-size B --kv-events-config JSON ..."""
import os
import sys

fake, args = sys.argv[1], sys.argv[2:]
out, model, i = [], None, 0
while i < len(args):
    a = args[i]
    if a == "--model-path":
        model = args[i + 1]
        i += 2
    elif a == "--page-size":
        out += ["--block-size", args[i + 1]]
        i += 2
    elif a == "--enable-cache-report":
        out.append("--enable-prompt-tokens-details")
        i += 1
    else:
        out.append(a)
        i += 1
if model is None:
    sys.exit("fake_sglang: --model-path is required, as for sglang.launch_server")
os.execv(sys.executable, [sys.executable, fake, "serve", model] + out)
