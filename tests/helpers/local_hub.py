"""A Hub on localhost for push tests: the few HTTP endpoints that `create_repo` and `upload_folder` use, answering as
the Hub does and recording every commit (revision, message, files and their bytes) and every model card's metadata
it validated. Point `HF_ENDPOINT` at `url`.

Files are always uploaded as regular (inline) files, so no LFS or Xet storage is needed.
"""

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml


@dataclass
class Commit:
    repo_id: str
    revision: str
    message: str
    files: dict = field(default_factory=dict)  # path in the repository -> bytes


class LocalHub:
    def __init__(self):
        self.repos: set = set()
        self.commits: list = []
        self.validated_cards: list = []  # the metadata of every README.md uploaded
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()

    def files_at(self, repo_id: str, revision: str) -> dict:
        """The repository's files at `revision` after every recorded commit to it."""
        files = {}
        for commit in self.commits:
            if (commit.repo_id, commit.revision) == (repo_id, revision):
                files.update(commit.files)
        return files


def _handler_for(hub: LocalHub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _reply(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))

        def do_GET(self):
            if self.path.startswith("/api/whoami"):
                return self._reply(200, {"type": "user", "name": "tester", "auth": {"type": "access_token"}})
            self._reply(404, {"error": f"not served by the local hub: GET {self.path}"})

        def do_POST(self):
            parts = self.path.split("?")[0].strip("/").split("/")
            body = self._body()
            if parts[:2] == ["api", "validate-yaml"]:  # the model card's metadata, checked before every upload
                return self._validate_card(json.loads(body)["content"])
            if parts[:3] == ["api", "repos", "create"]:
                request = json.loads(body)
                repo_id = f"{request.get('organization') or 'tester'}/{request['name']}"
                with hub._lock:
                    hub.repos.add(repo_id)
                return self._reply(200, {"url": f"{hub.url}/{repo_id}", "name": repo_id})
            # /api/models/{namespace}/{name}/{preupload|commit}/{revision...}
            if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4] in ("preupload", "commit"):
                repo_id, action, revision = "/".join(parts[2:4]), parts[4], "/".join(parts[5:])
                if repo_id not in hub.repos:
                    return self._reply(404, {"error": f"Repository {repo_id} not found"})
                if action == "preupload":
                    files = json.loads(body)["files"]
                    return self._reply(200, {"files": [{"path": entry["path"], "uploadMode": "regular",
                                                        "shouldIgnore": False} for entry in files]})
                return self._commit(repo_id, revision, body)
            self._reply(404, {"error": f"not served by the local hub: POST {self.path}"})

        def _validate_card(self, content: str) -> None:
            """The YAML block that opens README.md between `---` lines, as the Hub reads it."""
            lines = content.splitlines()
            if not lines or lines[0].strip() != "---" or "---" not in [line.strip() for line in lines[1:]]:
                return self._reply(400, {"errors": [{"message": "README.md opens with no metadata block"}]})
            end = 1 + [line.strip() for line in lines[1:]].index("---")
            try:
                metadata = yaml.safe_load("\n".join(lines[1:end]))
            except yaml.YAMLError as error:
                return self._reply(400, {"errors": [{"message": str(error)}]})
            if not isinstance(metadata, dict):
                return self._reply(400, {"errors": [{"message": "the metadata is not a mapping"}]})
            hub.validated_cards.append(metadata)
            self._reply(200, {"errors": [], "warnings": []})

        def _commit(self, repo_id: str, revision: str, body: bytes) -> None:
            commit = Commit(repo_id, revision.replace("%2F", "/"), "")
            for line in body.splitlines():
                item = json.loads(line)
                if item["key"] == "header":
                    commit.message = item["value"]["summary"]
                elif item["key"] == "file":
                    value = item["value"]
                    commit.files[value["path"]] = base64.b64decode(value["content"])
            with hub._lock:
                hub.commits.append(commit)
            oid = hashlib.sha1(body).hexdigest()
            self._reply(200, {"commitUrl": f"{hub.url}/{repo_id}/commit/{oid}", "commitOid": oid,
                              "pullRequestUrl": None})

    return Handler
