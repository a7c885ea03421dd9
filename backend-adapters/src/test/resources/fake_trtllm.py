"""A fake trtllm-serve for the adapter's tests (standard library only): TensorRT-LLM's OpenAI server as its
documentation and source describe it, over the same toy model as the fake vLLM (next = 3 + FNV-1a-64 of all ids so
far mod 509, text "w{id} "). It refuses unknown request fields (as TensorRT-LLM's request models do), streams text
without token ids, reports cached prompt tokens, and serves KV-cache events on POST /kv_cache_events: the events
since the last call, as TensorRT-LLM serializes them ({event_id, data: {type, ...}, window_size}; stored blocks
with {block_hash, tokens: [{token_id, token_extra_id}], cache_level, priority}; removed with block_hashes).
usage: python3 fake_trtllm.py MODEL --host H --port P --extra_llm_api_options FILE"""
import hashlib
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = sys.argv[1:]
MODEL, PORT, BS = args[0], 8000, 32
for i, a in enumerate(args):
    if a == "--port":
        PORT = int(args[i + 1])
    if a == "--extra_llm_api_options":
        m = re.search(r"tokens_per_block:\s*(\d+)", open(args[i + 1]).read())
        BS = int(m.group(1)) if m else BS
KNOWN = {"model", "prompt", "max_tokens", "temperature", "top_p", "top_k", "min_p", "seed", "stream", "stream_options",
         "ignore_eos", "min_tokens", "stop", "stop_token_ids", "repetition_penalty", "presence_penalty",
         "frequency_penalty", "n", "logprobs", "echo", "user"}
lock = threading.Lock()
events, next_id, cache = [{"event_id": 0, "data": {"type": "created", "num_blocks_per_cache_level": [4096, 0]},
                           "window_size": 4096}], 1, {}


def fnv(ids, h=0xCBF29CE484222325):
    for t in ids:
        for b in t.to_bytes(4, "little"):
            h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def store(prompt):
    global next_id
    parent, blocks, first_parent = None, [], None
    for i in range(len(prompt) // BS):
        toks = prompt[i * BS:(i + 1) * BS]
        h = int.from_bytes(hashlib.sha256((str(parent) + repr(toks)).encode()).digest()[:8], "big")
        if h not in cache:
            if not blocks:
                first_parent = parent
            cache[h] = True
            blocks.append({"type": "stored_block", "block_hash": h, "cache_level": 0, "priority": 35,
                           "tokens": [{"type": "unique_token", "token_id": t, "token_extra_id": 0} for t in toks]})
        elif blocks:
            break
        parent = h
    if blocks:
        events.append({"event_id": next_id, "window_size": 4096,
                       "data": {"type": "stored", "parent_hash": first_parent, "blocks": blocks}})
        next_id += 1


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def do_GET(self):
        if self.path == "/health":
            return self.send(200, {})
        if self.path == "/v1/models":
            return self.send(200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})
        self.send(404, {"error": {"message": "not found"}})

    def do_POST(self):
        global events
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)) or 0)
        if self.path == "/kv_cache_events":
            with lock:
                out, events = events, []
            return self.send(200, out)
        if self.path != "/v1/completions":
            return self.send(404, {"error": {"message": "not found"}})
        req = json.loads(body or b"{}")
        extra = sorted(set(req) - KNOWN)
        if extra:
            return self.send(400, {"object": "error", "message": f"Extra inputs are not permitted: {extra}",
                                   "type": "BadRequestError", "code": 400})
        p = req["prompt"]
        prompt = p if isinstance(p, list) else [3 + (b % 509) for b in p.encode()]
        n = req.get("max_tokens") or 16
        with lock:
            cached = 0
            parent = None
            for i in range(len(prompt) // BS):
                h = int.from_bytes(hashlib.sha256((str(parent) + repr(prompt[i * BS:(i + 1) * BS])).encode())
                                   .digest()[:8], "big")
                if h not in cache:
                    break
                cached += BS
                parent = h
            store(prompt)
        h, out = fnv(prompt), []
        for _ in range(n):
            t = 3 + h % 509
            out.append(t)
            h = fnv([t], h)
        usage = {"prompt_tokens": len(prompt), "completion_tokens": n, "total_tokens": len(prompt) + n,
                 "prompt_tokens_details": {"cached_tokens": cached}}
        if not req.get("stream"):
            return self.send(200, {"id": "c", "object": "text_completion", "model": MODEL, "usage": usage,
                                   "choices": [{"index": 0, "text": "".join(f"w{t} " for t in out),
                                                "finish_reason": "length"}]})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for i, t in enumerate(out):
            ch = {"id": "c", "object": "text_completion", "model": MODEL,
                  "choices": [{"index": 0, "text": f"w{t} ", "finish_reason": "length" if i == n - 1 else None}]}
            self.wfile.write(b"data: " + json.dumps(ch).encode() + b"\n\n")
            self.wfile.flush()
        if (req.get("stream_options") or {}).get("include_usage"):
            self.wfile.write(b"data: " + json.dumps({"id": "c", "object": "text_completion", "choices": [],
                                                     "usage": usage}).encode() + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
