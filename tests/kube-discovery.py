#!/usr/bin/env python3
"""The discovery documents of a Kubernetes API server, and nothing else.

kubectl create --dry-run=client maps each object's apiVersion and kind to
a resource through the server's discovery (/api, /apis, ...) even though
it sends nothing: this serves those documents for the kinds
deploy/kubernetes/ uses, on 127.0.0.1 and a free port, so that the
manifests can be checked on a machine without a cluster. The port is
written to the file named by the first argument. Validation of the
fields themselves (--validate) needs the server's OpenAPI schema, which
is not served: kubectl is run with --validate=false.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def resources(group_version, items):
    return {
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
        "resources": [{"name": n, "singularName": s, "namespaced": ns, "kind": k,
                       "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
                      for n, s, ns, k in items],
    }


def group(name, version):
    gv = {"groupVersion": name + "/" + version, "version": version}
    return {"name": name, "versions": [gv], "preferredVersion": gv}


DOCS = {
    "/api": {"kind": "APIVersions", "versions": ["v1"],
             "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]},
    "/api/v1": resources("v1", [
        ("namespaces", "namespace", False, "Namespace"),
        ("serviceaccounts", "serviceaccount", True, "ServiceAccount"),
        ("services", "service", True, "Service"),
        ("configmaps", "configmap", True, "ConfigMap"),
    ]),
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1",
              "groups": [group("apps", "v1"), group("monitoring.coreos.com", "v1")]},
    "/apis/apps/v1": resources("apps/v1", [("daemonsets", "daemonset", True, "DaemonSet")]),
    "/apis/monitoring.coreos.com/v1": resources(
        "monitoring.coreos.com/v1", [("servicemonitors", "servicemonitor", True, "ServiceMonitor")]),
    "/version": {"major": "1", "minor": "20", "gitVersion": "v1.20.2"},
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        doc = DOCS.get(self.path.split("?")[0].rstrip("/"))
        body = json.dumps(doc if doc is not None else
                          {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                           "reason": "NotFound", "code": 404}).encode()
        self.send_response(200 if doc is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


server = HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
