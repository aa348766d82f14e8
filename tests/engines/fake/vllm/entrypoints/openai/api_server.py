"""A stand-in for ``python -m vllm.entrypoints.openai.api_server`` in the fast tests (on PYTHONPATH only there).

It serves ``/health``, ``/v1/models``, ``/v1/chat/completions`` and ``/v1/completions`` (token-id prompts,
``return_token_ids``: the answer is ``[seed % 1000 + 10, 11, 12]``) for the names given with
``--served-model-name`` and ``--lora-modules``, and, with ``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True``,
``/v1/load_lora_adapter`` / ``/v1/unload_lora_adapter`` (an adapter dir must hold adapter_config.json).
It appends one JSON line per event to ``$FAKE_VLLM_RECORD``: its start (argv, pid, the KV-cache
variable) and every request.
A request for a name it does not serve gets 404, as from vLLM. ``FAKE_VLLM_MODE=exit`` exits
with code 3 at once; ``hang`` never answers ``/health``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def record(event: dict) -> None:
    """Append ``event`` to the record file."""
    with open(os.environ["FAKE_VLLM_RECORD"], "a") as f:
        f.write(json.dumps(event) + "\n")


def main() -> None:
    """Parse vLLM's arguments (those emlab passes), then serve."""
    p = argparse.ArgumentParser()
    p.add_argument("--model")
    p.add_argument("--served-model-name")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--lora-modules", nargs="*", default=[])
    args, _ = p.parse_known_args()
    mode = os.environ.get("FAKE_VLLM_MODE", "")
    record({"event": "start", "argv": sys.argv[1:], "pid": os.getpid(), "kv": os.environ.get("VLLM_CPU_KVCACHE_SPACE")})
    print("fake vllm starting", flush=True)
    if mode == "exit":
        print("RuntimeError: fake engine failed", flush=True)
        sys.exit(3)
    if mode == "hang":
        while True:
            time.sleep(1)
    names = [args.served_model_name] + [m.split("=", 1)[0] for m in args.lora_modules]

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a: object) -> None:
            pass

        def _send(self, code: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/health":
                self._send(200, {})
            elif self.path == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": n, "object": "model"} for n in names]})
            else:
                self._send(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path in ("/v1/load_lora_adapter", "/v1/unload_lora_adapter", "/v1/completions"):
                self._other(body)
                return
            record(
                {
                    "event": "chat",
                    "model": body.get("model"),
                    "seed": body.get("seed"),
                    "temperature": body.get("temperature"),
                    "logprobs": body.get("logprobs"),
                }
            )
            if body.get("model") not in names:
                self._send(404, {"object": "error", "message": f"The model `{body.get('model')}` does not exist."})
                return
            answer = "A" if body.get("logprobs") else f"answer from {body['model']} seed {body.get('seed')}"
            logprobs = None
            if body.get("logprobs"):
                top = [{"token": "A", "logprob": -0.2, "bytes": None}, {"token": "B", "logprob": -1.8, "bytes": None}]
                logprobs = {"content": [{"token": "A", "logprob": -0.2, "bytes": None, "top_logprobs": top}]}
            self._send(
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": answer},
                            "finish_reason": "stop",
                            "logprobs": logprobs,
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                },
            )

        def _other(self, body: dict) -> None:
            record({"event": self.path.rsplit("/", 1)[1], **body})
            runtime = os.environ.get("VLLM_ALLOW_RUNTIME_LORA_UPDATING") == "True"
            if self.path == "/v1/load_lora_adapter":
                if not runtime or not os.path.isfile(os.path.join(body["lora_path"], "adapter_config.json")):
                    self._send(404 if not runtime else 400, {"object": "error", "message": "cannot load"})
                    return
                names.append(body["lora_name"])
                self._send(200, {})
            elif self.path == "/v1/unload_lora_adapter":
                names.remove(body["lora_name"])
                self._send(200, {})
            elif body.get("model") not in names or not isinstance(body.get("prompt"), list):
                self._send(404, {"object": "error", "message": f"The model `{body.get('model')}` does not exist."})
            else:
                ids = [body["seed"] % 1000 + 10, 11, 12][: body["max_tokens"]]
                choice = {"index": 0, "text": "x", "token_ids": ids, "finish_reason": "stop"}
                self._send(200, {"id": "cmpl-fake", "object": "text_completion", "choices": [choice]})

    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
