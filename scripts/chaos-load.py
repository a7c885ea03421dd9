#!/usr/bin/env python3
"""Load for scripts/chaos (standard library only): streaming completions over kept-alive connections.

  chaos-load.py reference URL MODEL PROMPTS MAX_TOKENS OUT.json
      each prompt once, one at a time, on a quiet cluster: the expected text of every prompt
  chaos-load.py load URL MODEL PROMPTS MAX_TOKENS SECONDS CONCURRENCY REFERENCE.json OUT.json
      CONCURRENCY streams at all times for SECONDS, cycling through the prompts; every finished stream is compared
      with its reference; prints and writes {"streams", "ok", "failed", "mismatches", "reasons"}

Prompts are token ids (BOS and ids below 500, valid in any vocabulary of 512 or more; the test models have no text
tokenizer) and the streams return the generated ids (return_token_ids, ignore_eos). Greedy decoding (temperature 0)
makes every prompt's continuation a fixed function of the model, so a stream that was cut and continued elsewhere
must still produce exactly the reference ids.
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse

def prompt(i):
    """BOS and 8 to 39 ids, distinct per prompt from the second id on."""
    return [1] + [3 + (37 * i + 11 * k * k + k) % 497 for k in range(8 + (i * 7) % 32)]


class Client:
    """One kept-alive connection; reconnects after an error."""

    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.base = u.hostname, u.port, u.path.rstrip("/")
        self.conn = None

    def stream(self, model, text, max_tokens):
        body = json.dumps({"model": model, "prompt": text, "max_tokens": max_tokens, "temperature": 0,
                           "ignore_eos": True, "return_token_ids": True, "stream": True})
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            self.conn.request("POST", self.base + "/completions", body,
                              {"Content-Type": "application/json", "Connection": "keep-alive"})
            r = self.conn.getresponse()
            if r.status != 200:
                detail = r.read()[:200].decode("utf-8", "replace")
                return None, f"HTTP {r.status} {detail}"
            out, done, err = [], False, None
            while True:
                line = r.readline()
                if not line:
                    break
                line = line.decode().strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    done = True
                    break
                c = json.loads(data)
                if "error" in c:
                    err = "error event: " + str(c["error"].get("message"))[:120]
                for ch in c.get("choices", []):
                    out.extend(ch.get("token_ids") or [])
            r.read()
            if err:
                return None, err
            if not done:
                self.close()
                return None, "stream ended without [DONE]"
            if len(out) != max_tokens:
                return None, f"{len(out)} ids instead of {max_tokens}"
            return out, None
        except (OSError, http.client.HTTPException, ValueError) as e:
            self.close()
            return None, type(e).__name__ + ": " + str(e)[:120]

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None


def reference(url, model, prompts, max_tokens, out):
    c = Client(url)
    ref = {}
    for i in range(prompts):
        text, err = c.stream(model, prompt(i), max_tokens)
        if err:
            sys.exit(f"the reference run failed on prompt {i}: {err}")
        ref[str(i)] = text
    json.dump(ref, open(out, "w"))
    print(f"reference: {prompts} prompts")


def load(url, model, prompts, max_tokens, seconds, concurrency, ref_file, out):
    ref = json.load(open(ref_file))
    lock = threading.Lock()
    stats = {"streams": 0, "ok": 0, "failed": 0, "mismatches": 0, "reasons": {}, "mismatched": []}
    deadline = time.monotonic() + seconds
    counter = [0]

    def run():
        c = Client(url)
        while time.monotonic() < deadline:
            with lock:
                i = counter[0] % prompts
                counter[0] += 1
            text, err = c.stream(model, prompt(i), max_tokens)
            with lock:
                stats["streams"] += 1
                if err:
                    stats["failed"] += 1
                    key = err[:80]
                    stats["reasons"][key] = stats["reasons"].get(key, 0) + 1
                elif text != ref[str(i)]:
                    stats["mismatches"] += 1
                    at = next(k for k, (a, b) in enumerate(zip(text, ref[str(i)])) if a != b)
                    if len(stats["mismatched"]) < 20:
                        stats["mismatched"].append({"prompt": i, "at": at, "got": text[at:at + 4],
                                                    "want": ref[str(i)][at:at + 4]})
                    key = f"prompt {i} differs"
                    stats["reasons"][key] = stats["reasons"].get(key, 0) + 1
                else:
                    stats["ok"] += 1
        c.close()

    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump(stats, open(out, "w"))
    print(json.dumps(stats))


if __name__ == "__main__":
    a = sys.argv[1:]
    if a and a[0] == "reference" and len(a) == 6:
        reference(a[1], a[2], int(a[3]), int(a[4]), a[5])
    elif a and a[0] == "load" and len(a) == 9:
        load(a[1], a[2], int(a[3]), int(a[4]), float(a[5]), int(a[6]), a[7], a[8])
    else:
        sys.exit(__doc__)
