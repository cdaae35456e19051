#!/usr/bin/python3
"""tests/deploy/check_manifests.py — the Kubernetes manifests of deploy/kubernetes/, checked
offline (no cluster here):

1. against the Kubernetes API's object types: every document is type-checked by the TypeScript
   compiler against kubernetes-types (the API's types generated from the Kubernetes 1.30 OpenAPI
   document; both pinned npm packages, tools/install-deps). An unknown or misspelt field, a
   wrong type, a missing required field or a wrong apiVersion is an error — stricter than the
   API server's default, like `kubectl --validate=strict`. Enum values and formats are not
   checked (the types say `string`);
2. the negative control: deliberately broken copies (one fault each) go through the same
   compiler run and each must be rejected, or the test fails;
3. what no schema says but the pod relies on: the ConfigMap is what deploy/make-configmap
   writes, selectors match the pod's labels, mounts name volumes, the probes hit predictd's
   health routes, every container has requests and limits, the shutdown budget adds up
   (README, "Kubernetes").

Exit 0 when all hold, 1 with the reasons otherwise. Owns only these checks."""
import copy
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MANIFESTS = os.path.join(ROOT, "deploy/kubernetes")
TYPES = os.path.join(ROOT, ".deps/kubernetes-types")
TSC = os.path.join(ROOT, ".deps/typescript/lib/tsc.js")

failures = []


def fail(msg):
    failures.append(msg)


def load_documents():
    """[(label, document)] of every YAML document in deploy/kubernetes/*.yaml."""
    docs = []
    for name in sorted(os.listdir(MANIFESTS)):
        if not name.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(MANIFESTS, name), encoding="utf-8") as f:
            for i, doc in enumerate(yaml.safe_load_all(f)):
                if doc is not None:
                    docs.append((f"deploy/kubernetes/{name}#{i + 1}", doc))
    return docs


def type_of(doc):
    """(module, interface) of kubernetes-types for the document's apiVersion and kind, or None.
    apiVersion "v1" is the core group; "apps/v1" -> apps/v1.d.ts; "policy/v1" -> policy/v1.d.ts;
    a dotted group is named by its first label (networking.k8s.io/v1 -> networking/v1.d.ts)."""
    api, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api, str) or not isinstance(kind, str) or not kind.isidentifier():
        return None
    group, _, version = api.rpartition("/")
    module = (group.split(".")[0] if group else "core") + "/" + version
    path = os.path.join(TYPES, module + ".d.ts")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        if not re.search(r"^export interface " + kind + r" \{", f.read(), re.M):
            return None
    return module, kind


def broken_copies(docs):
    """[(label, document, type of the original)]: one deliberate fault each, which the type check
    must reject."""
    by_kind = {d["kind"]: d for _, d in docs if isinstance(d, dict) and "kind" in d}
    out = []

    def add(kind, what, mutate):
        if kind not in by_kind:
            fail(f"negative control: no {kind} to break")
            return
        d = copy.deepcopy(by_kind[kind])
        mutate(d)
        out.append((f"broken {kind}: {what}", d, type_of(by_kind[kind])))

    def misspelt_probe(d):
        c = d["spec"]["template"]["spec"]["containers"][0]
        c["livenesProbe"] = c.pop("livenessProbe")

    def string_grace(d):
        d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = "80"

    def no_selector(d):
        del d["spec"]["selector"]

    def old_api(d):
        d["apiVersion"] = "apps/v1beta2"

    def nested_unknown(d):
        d["spec"]["template"]["spec"]["volumes"][0]["emptyDir"]["sizeLimitt"] = "1Mi"

    def unnamed_container(d):
        del d["spec"]["template"]["spec"]["containers"][1]["name"]

    def string_port(d):
        d["spec"]["ports"][0]["port"] = "80"

    def percent_target(d):
        d["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] = "70%"

    def list_data(d):
        d["data"]["predictd.ini"] = ["workers = 2"]

    add("Deployment", "misspelt livenessProbe", misspelt_probe)
    add("Deployment", "terminationGracePeriodSeconds as a string", string_grace)
    add("Deployment", "required spec.selector missing", no_selector)
    add("Deployment", "apiVersion apps/v1beta2", old_api)
    add("Deployment", "unknown field deep in a volume", nested_unknown)
    add("Deployment", "container without its required name", unnamed_container)
    add("Service", "port as a string", string_port)
    add("HorizontalPodAutoscaler", "averageUtilization as a string", percent_target)
    add("ConfigMap", "a data value that is not a string", list_data)
    return out


def typecheck(entries):
    """entries: [(label, document, (module, kind))]. Runs tsc once over all of them; returns
    {label: [error lines]}."""
    errors = {label: [] for label, _, _ in entries}
    with tempfile.TemporaryDirectory(prefix="predictd-manifests-") as tmp:
        lines, spans = [], []
        for i, (label, doc, (module, kind)) in enumerate(entries):
            lines.append(f'import type {{ {kind} as T{i} }} from "kubernetes-types/{module}";')
        for i, (label, doc, _) in enumerate(entries):
            start = len(lines) + 1
            lines.append(f"// {label}")
            lines.extend(f"export const doc{i}: T{i} = {json.dumps(doc, indent=1)};".split("\n"))
            spans.append((start, len(lines), label))
        with open(os.path.join(tmp, "manifests.ts"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        config = {"compilerOptions": {
            "strict": True, "noEmit": True, "lib": ["es2017"], "types": [],
            "module": "commonjs", "moduleResolution": "node", "baseUrl": ".",
            "paths": {"kubernetes-types/*": [TYPES + "/*"]}},
            "files": ["manifests.ts"]}
        with open(os.path.join(tmp, "tsconfig.json"), "w", encoding="utf-8") as f:
            json.dump(config, f)
        r = subprocess.run(["node", TSC, "-p", tmp, "--pretty", "false"], capture_output=True,
                           text=True, timeout=300)
        out = r.stdout + r.stderr
        seen = 0
        for line in out.splitlines():
            m = re.match(r"(?:.*[/\\])?manifests\.ts\((\d+),\d+\): error (.*)", line)
            if not m:
                continue
            seen += 1
            n = int(m.group(1))
            owner = [label for a, b, label in spans if a <= n <= b]
            if owner:
                errors[owner[0]].append(m.group(2))
            else:
                fail(f"tsc error outside any document (line {n}): {m.group(2)}")
        if r.returncode != 0 and seen == 0:
            fail(f"tsc failed without a diagnostic (exit {r.returncode}):\n{out[-2000:]}")
    return errors


def check_types(docs):
    entries = []
    for label, doc in docs:
        if not isinstance(doc, dict):
            fail(f"{label}: not a mapping")
            continue
        for key in ("apiVersion", "kind"):
            if key not in doc:  # optional in the types, required by the API server
                fail(f"{label}: no {key}")
        if not isinstance(doc.get("metadata"), dict) or not doc["metadata"].get("name"):
            fail(f"{label}: no metadata.name")
        t = type_of(doc)
        if t is None:
            fail(f"{label}: unknown apiVersion/kind {doc.get('apiVersion')}/{doc.get('kind')}")
            continue
        entries.append((label, doc, t))
    broken = broken_copies(docs)
    errors = typecheck(entries + broken)
    for label, _, _ in entries:
        for e in errors[label]:
            fail(f"{label}: {e}")
    for label, _, _ in broken:
        if not errors[label]:
            fail(f"negative control: the type check accepted a {label}")
        else:
            print(f"rejected as it must be, {label}: {errors[label][0][:150]}")
    print(f"type-checked {len(entries)} documents and {len(broken)} broken copies")


def check_pod(docs):
    """The wiring no schema states."""
    by_kind = {}
    for _, d in docs:
        if isinstance(d, dict):
            by_kind.setdefault(d.get("kind"), []).append(d)
    for kind in ("Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler",
                 "PodDisruptionBudget"):
        if len(by_kind.get(kind, [])) != 1:
            fail(f"expected one {kind}, found {len(by_kind.get(kind, []))}")
            return
    dep, svc, cm = by_kind["Deployment"][0], by_kind["Service"][0], by_kind["ConfigMap"][0]
    hpa, pdb = by_kind["HorizontalPodAutoscaler"][0], by_kind["PodDisruptionBudget"][0]
    pod = dep["spec"]["template"]
    labels = pod["metadata"]["labels"]

    def selects(sel, what):
        if not sel or any(labels.get(k) != v for k, v in sel.items()):
            fail(f"{what} {sel} does not select the pod's labels {labels}")

    selects(dep["spec"]["selector"]["matchLabels"], "Deployment selector")
    selects(svc["spec"]["selector"], "Service selector")
    selects(pdb["spec"]["selector"]["matchLabels"], "PodDisruptionBudget selector")
    ref = hpa["spec"]["scaleTargetRef"]
    if (ref["kind"], ref["name"], ref["apiVersion"]) != ("Deployment", dep["metadata"]["name"],
                                                         dep["apiVersion"]):
        fail(f"the HPA scales {ref}, not the Deployment")
    if "replicas" in dep["spec"]:
        fail("the Deployment sets replicas: a re-apply would fight the HPA")

    # The ConfigMap: generated from the repository's files, and mounted by name.
    r = subprocess.run([os.path.join(ROOT, "deploy/make-configmap"), "--check"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail(r.stderr.strip() or "deploy/make-configmap --check failed")
    with open(os.path.join(ROOT, "nginx/predictd-locations.conf"), encoding="utf-8") as f:
        if cm["data"].get("predictd-locations.conf") != f.read():
            fail("the ConfigMap's predictd-locations.conf is not nginx/predictd-locations.conf")

    spec = pod["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    containers = {c["name"]: c for c in spec["containers"]}
    if set(containers) != {"predictd", "nginx"}:
        fail(f"containers {sorted(containers)}, expected predictd and nginx")
        return
    mounts = {}
    for c in containers.values():
        for m in c.get("volumeMounts", []):
            if m["name"] not in volumes:
                fail(f"container {c['name']} mounts {m['name']}, which is no volume")
            mounts[(c["name"], m["name"])] = m["mountPath"]
        res = c.get("resources", {})
        for part in ("requests", "limits"):
            for r_ in ("cpu", "memory"):
                if r_ not in res.get(part, {}):
                    fail(f"container {c['name']} has no {part}.{r_} (the HPA needs requests)")
    for v in volumes.values():
        if "configMap" in v:
            if v["configMap"]["name"] != cm["metadata"]["name"]:
                fail(f"volume {v['name']} names ConfigMap {v['configMap']['name']}")
            for item in v["configMap"].get("items", []):
                if item["key"] not in cm["data"]:
                    fail(f"volume {v['name']} takes key {item['key']}, not in the ConfigMap")

    # The shared socket directory: the emptyDir both containers mount where the settings put it.
    ini = cm["data"]["predictd.ini"]
    nginx_conf = cm["data"]["nginx.conf"]
    listen = re.search(r"^listen = unix:(\S+)$", ini, re.M)
    sock_dir = os.path.dirname(listen.group(1)) if listen else None
    if "emptyDir" not in volumes.get("sockets", {}):
        fail("no emptyDir volume named sockets")
    for c in ("predictd", "nginx"):
        if mounts.get((c, "sockets")) != sock_dir:
            fail(f"{c} mounts the sockets emptyDir at {mounts.get((c, 'sockets'))}, "
                 f"predictd listens in {sock_dir}")
    for s in re.findall(r"server unix:(\S+)", nginx_conf):
        if os.path.dirname(s) != sock_dir:
            fail(f"NGINX's upstream {s} is not in {sock_dir}")
    if mounts.get(("predictd", "predictd-settings")) != "/etc/predictd":
        fail("predictd.ini is not mounted in /etc/predictd")
    if containers["predictd"].get("args") != ["--config", "/etc/predictd/predictd.ini"]:
        fail(f"predictd's args {containers['predictd'].get('args')}")
    conf_dir = mounts.get(("nginx", "nginx-settings"))
    if f"include {conf_dir}/predictd-locations.conf;" not in nginx_conf:
        fail(f"nginx.conf does not include the locations mounted in {conf_dir}")
    if containers["nginx"].get("args", [])[-1:] != [f"{conf_dir}/nginx.conf"]:
        fail("NGINX is not started on the mounted nginx.conf")

    # Ports and probes: NGINX listens on the Service's target; the probes hit predictd's routes.
    port = {p["name"]: p["containerPort"] for p in containers["nginx"].get("ports", [])}
    target = svc["spec"]["ports"][0]["targetPort"]
    if target not in port or f"listen {port[target]};" not in nginx_conf:
        fail(f"the Service targets {target}; NGINX ports {port}")
    p = containers["predictd"]
    want = {"readinessProbe": "/v2/health/ready", "livenessProbe": "/v2/health/live"}
    for probe, path in want.items():
        got = p.get(probe, {}).get("httpGet", {})
        if got.get("path") != path or got.get("port") not in (port.get("http"), "http"):
            fail(f"predictd's {probe} is {got}, expected GET {path} on NGINX's port")
    with open(os.path.join(ROOT, "nginx/predictd-locations.conf"), encoding="utf-8") as f:
        locations = f.read()
    if "location = /v2/health/ready {" not in locations or "(/health/live)?$" not in locations:
        fail("predictd-locations.conf no longer routes /v2/health/ready and /v2/health/live")
    deadline = 20  # limits.request_deadline's default (README, "Kubernetes probes")
    if p["livenessProbe"].get("timeoutSeconds", 1) <= deadline:
        fail("the liveness timeout must exceed the slowest single request (request_deadline)")

    # The shutdown budget (README, "Processes and signals"; deployment.yaml's comment).
    def nums(pattern, text, what):
        m = re.search(pattern, text, re.M)
        if not m:
            fail(f"cannot read {what}")
            return 0
        return int(m.group(1))

    nginx_stop = containers["nginx"]["lifecycle"]["preStop"]["exec"]["command"]
    nginx_sleep = int(nginx_stop[-1]) if nginx_stop[:1] == ["sleep"] else 0
    hook = " ".join(p["lifecycle"]["preStop"]["exec"]["command"])
    pid_path = re.search(r"^pid (\S+);$", nginx_conf, re.M)
    if not pid_path or f"[ -e {pid_path.group(1)} ]" not in hook:
        fail("predictd's preStop does not wait for NGINX's pid file")
    if os.path.dirname(pid_path.group(1) if pid_path else "") != sock_dir:
        fail("NGINX's pid file is not in the shared emptyDir")
    wait = nums(r"sleep (\d+);", hook, "predictd's preStop sleep") + \
        nums(r"-lt (\d+) \]", hook, "predictd's preStop bound")
    read_timeout = nums(r"^fastcgi_read_timeout (\d+)s;", locations, "fastcgi_read_timeout")
    graceful = nums(r"^graceful_timeout = (\d+)$", ini, "graceful_timeout in predictd.ini")
    grace = spec.get("terminationGracePeriodSeconds", 30)
    if nginx_sleep < 5:
        fail("NGINX's preStop must wait for the endpoint removal to spread (>= 5 s)")
    if wait < nginx_sleep + read_timeout:
        fail(f"predictd waits {wait} s for NGINX, which may need {nginx_sleep} + {read_timeout}")
    if grace < wait + graceful:
        fail(f"terminationGracePeriodSeconds {grace} < {wait} (preStop) + {graceful} "
             "(graceful_timeout)")
    workers = nums(r"^workers = (\d+)$", ini, "workers in predictd.ini")
    cpu = str(p["resources"]["limits"]["cpu"])
    if not cpu.isdigit() or int(cpu) != workers:
        fail(f"predictd's CPU limit {cpu} is not its {workers} workers (one per core)")


def main():
    for path, what in ((TSC, "typescript"), (TYPES + "/apps/v1.d.ts", "kubernetes-types")):
        if not os.path.isfile(path):
            print(f"{what} missing in .deps/: run tools/install-deps", file=sys.stderr)
            return 1
    docs = load_documents()
    if not docs:
        fail("no manifests in deploy/kubernetes")
    check_types(docs)
    check_pod(docs)
    for f in failures:
        print("FAIL " + f, file=sys.stderr)
    print(f"{len(docs)} manifests: {'FAILED' if failures else 'ok'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
