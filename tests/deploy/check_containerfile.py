#!/usr/bin/python3
"""tests/deploy/check_containerfile.py — deploy/Containerfile checked statically, since no
container engine runs here (README, "Kubernetes"):
- stages: Debian 12 bases only; the targets the manifests name (`predictd`, `nginx`) exist;
  every `COPY --from` names an earlier stage; each image stage runs as a numeric non-root USER;
- every COPY source exists in the repository (the build context) and is not excluded by
  deploy/Containerfile.dockerignore;
- the build stage runs tools/install-deps, tools/fetch-models and the README's production
  configure line verbatim (the one tools/test-install runs);
- every package the image stages apt-get install exists in Debian 12 (`apt-cache show`), and
  the predictd stage's list covers every shared library the built binary links (readelf
  NEEDED -> ldd -> dpkg -S), besides those of the base image and ONNX Runtime (installed with
  predictd);
- the nginx stage stops NGINX gracefully (STOPSIGNAL SIGQUIT) and exposes the port it listens on;
- the image tags in deploy/kubernetes/deployment.yaml carry the project's version.
Then the same checks run on deliberately broken copies, each of which must be rejected.
Usage: check_containerfile.py PATH-TO-BUILT-predictd. Exit 0 ok, 1 failed, 77 skipped (no apt
package lists: run apt-get update)."""
import fnmatch
import os
import re
import shlex
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONTAINERFILE = os.path.join(ROOT, "deploy/Containerfile")
DEBIAN_BASES = {"debian:12", "debian:bookworm", "debian:12-slim", "debian:bookworm-slim"}
# Packages of debian:bookworm-slim that carry libraries a C++ program links (required/essential).
BASE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1"}
apt_cache = {}


def instructions(text):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        word, _, rest = cur.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        cur = ""
    return out


def stages(instrs):
    """[{name, base, instrs}] in order."""
    out = []
    for ins, args in instrs:
        if ins == "FROM":
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args, re.I)
            out.append({"base": m.group(1), "name": m.group(2), "instrs": []})
        elif out:
            out[-1]["instrs"].append((ins, args))
    return out


def apt_installed(stage):
    pkgs = []
    for ins, args in stage["instrs"]:
        if ins == "RUN":
            for cmd in re.split(r"&&|;", args):
                words = shlex.split(cmd)
                if "apt-get" in words and "install" in words:
                    pkgs += [w for w in words[words.index("install") + 1:]
                             if not w.startswith("-")]
    return pkgs


def in_debian(*pkgs):
    """Whether Debian has every one of pkgs (`apt-cache show`, one call for those not seen)."""
    todo = [p for p in pkgs if p not in apt_cache]
    if todo:
        r = subprocess.run(["apt-cache", "show", "--no-all-versions"] + todo,
                           capture_output=True, text=True)
        found = set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))
        for p in todo:
            apt_cache[p] = p in found
    return all(apt_cache[p] for p in pkgs)


def linked_packages(binary):
    """{soname: Debian package or None} for the binary's NEEDED entries."""
    dyn = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(\S+)\]", dyn.stdout)
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    candidates = {}
    for soname in needed:
        if re.match(r"lib(a|ub|l|t)san\.so", soname):
            continue  # a sanitizer build (tools/test-sanitizers); the image ships a Release one
        path = paths.get(soname)
        if not path or path == "not":
            candidates[soname] = []
            continue
        # Debian 12 merged /lib into /usr/lib: dpkg knows a file by the path it shipped it under.
        candidates[soname] = list(dict.fromkeys(
            [path, os.path.realpath(path)] + ["/usr" + p for p in (path, os.path.realpath(path))
                                              if p.startswith("/lib")]))
    # One dpkg -S for every path (each call reads dpkg's whole database).
    r = subprocess.run(["dpkg", "-S"] + [p for ps in candidates.values() for p in ps],
                       capture_output=True, text=True)
    owner_of = {}
    for line in r.stdout.splitlines():
        m = re.match(r"([^:,\s]+)(?::[a-z0-9]+)?: (/\S+)$", line)
        if m:
            owner_of[m.group(2)] = m.group(1)
    out = {}
    for soname, ps in candidates.items():
        owner = next((owner_of[p] for p in ps if p in owner_of), None)
        out[soname] = owner or ("(installed with predictd)" if "onnxruntime" in soname else None)
    return out


def ignore_patterns():
    with open(os.path.join(ROOT, "deploy/Containerfile.dockerignore"), encoding="utf-8") as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]


def ignored(path, patterns):
    """Whether the build context leaves `path` out: a pattern matches it or one of its parent
    directories (the .dockerignore rules: Go's filepath.Match, `**/` for any depth)."""
    parts = os.path.normpath(path).split("/")
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        for pat in patterns:
            if fnmatch.fnmatchcase(prefix, pat) or (
                    pat.startswith("**/") and fnmatch.fnmatchcase(parts[i - 1], pat[3:])):
                return True
    return False


def readme_configure():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    block = text.split("### systemd and NGINX in production", 1)[1].split("```sh", 1)[1]
    block = block.split("```", 1)[0]
    return next(line for line in block.splitlines() if line.startswith("cmake -S "))


def check(text, binary, needed=None, patterns=None):
    """The failures of Containerfile text `text` (the binary's libraries in `needed`, the
    ignore file's `patterns`)."""
    fails = []
    patterns = ignore_patterns() if patterns is None else patterns
    st = stages(instructions(text))
    names = [s["name"] for s in st]
    for want in ("predictd", "nginx"):
        if want not in names:
            fails.append(f"no stage `{want}` (deploy/kubernetes/deployment.yaml's images)")
    for i, s in enumerate(st):
        earlier = names[:i]
        if s["base"] not in DEBIAN_BASES and s["base"] not in earlier:
            fails.append(f"stage {s['name']}: base {s['base']} is not Debian 12")
        for ins, args in s["instrs"]:
            if ins not in ("COPY", "ADD"):
                continue
            if ins == "ADD":
                fails.append(f"stage {s['name']}: ADD (use COPY; nothing is fetched at build)")
            words = shlex.split(args)
            opts = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            frm = [o.split("=", 1)[1] for o in opts if o.startswith("--from=")]
            if frm:
                if frm[0] not in earlier:
                    fails.append(f"stage {s['name']}: COPY --from={frm[0]}: no earlier stage")
                continue
            for src in paths[:-1]:
                if not os.path.exists(os.path.join(ROOT, src)):
                    fails.append(f"stage {s['name']}: COPY source {src} is not in the repository")
                elif ignored(src, patterns):
                    fails.append(f"stage {s['name']}: COPY source {src} is left out of the build "
                                 "context by deploy/Containerfile.dockerignore")
        users = [a for ins, a in s["instrs"] if ins == "USER"]
        if s["name"] in ("predictd", "nginx"):
            uid = users[-1].split(":")[0] if users else "0"
            if not uid.isdigit() or int(uid) == 0:
                fails.append(f"stage {s['name']}: runs as {uid or 'root'}, not a numeric non-root "
                             "user (runAsNonRoot needs a number)")
        pkgs = apt_installed(s) if s["name"] != "build" else []
        in_debian(*pkgs)
        for pkg in pkgs:
            if not in_debian(pkg):
                fails.append(f"stage {s['name']}: package {pkg} is not in Debian (apt-cache show)")
    by_name = {s["name"]: s for s in st}
    build = by_name.get("build")
    runs = " ".join(a for ins, a in build["instrs"] if ins == "RUN") if build else ""
    for step in ("tools/install-deps", "tools/fetch-models", readme_configure()):
        if not re.search(r"(^|\s)" + re.escape(step) + r"(\s|$)", runs):
            fails.append(f"the build stage does not run `{step}`")
    if "predictd" in by_name and needed is not None:
        have = set(apt_installed(by_name["predictd"])) | BASE_PACKAGES
        for soname, pkg in needed.items():
            if pkg is None:
                fails.append(f"predictd links {soname}, which no Debian package owns here")
            elif not pkg.startswith("(") and pkg not in have:
                fails.append(f"predictd links {soname} from {pkg}, which the predictd stage "
                             "does not install")
    if "nginx" in by_name:
        nginx = by_name["nginx"]["instrs"]
        if ("STOPSIGNAL", "SIGQUIT") not in nginx:
            fails.append("the nginx stage does not stop NGINX with SIGQUIT (graceful)")
        with open(os.path.join(ROOT, "deploy/nginx/nginx.conf"), encoding="utf-8") as f:
            listen = re.search(r"^\s*listen (\d+);", f.read(), re.M)
        if not listen or ("EXPOSE", listen.group(1)) not in nginx:
            fails.append("the nginx stage does not EXPOSE the port deploy/nginx/nginx.conf "
                         "listens on")
        if "nginx-light" not in apt_installed(by_name["nginx"]):
            fails.append("the nginx stage does not install Debian's nginx-light")
    return fails


def image_tags():
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        version = re.search(r"project\(predictd VERSION (\S+)", f.read()).group(1)
    with open(os.path.join(ROOT, "deploy/kubernetes/deployment.yaml"), encoding="utf-8") as f:
        dep = yaml.safe_load(f)
    images = {c["name"]: c["image"] for c in dep["spec"]["template"]["spec"]["containers"]}
    want = {"predictd": f"predictd:{version}", "nginx": f"predictd-nginx:{version}"}
    return [f"container {k} runs image {images.get(k)}, expected {v} (the Containerfile's "
            "build commands in its header and README)" for k, v in want.items()
            if images.get(k) != v]


def main():
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        print("usage: check_containerfile.py PATH-TO-BUILT-predictd", file=sys.stderr)
        return 1
    if not in_debian("bash"):
        print("SKIP: apt-cache knows no packages (run apt-get update)", file=sys.stderr)
        return 77
    with open(CONTAINERFILE, encoding="utf-8") as f:
        text = f.read()
    needed = linked_packages(sys.argv[1])
    print("predictd links: " + ", ".join(f"{k} ({v})" for k, v in needed.items()))
    fails = check(text, sys.argv[1], needed) + image_tags()
    header = text.split("FROM ", 1)[0]
    for tag in ("predictd:", "predictd-nginx:"):
        if f"-t {tag}" not in header:
            fails.append(f"the Containerfile's header does not say how to build {tag}")

    # The negative control: one fault per copy, each must be caught.
    broken = {
        "a COPY source that does not exist": text.replace("COPY docs/openapi.json",
                                                          "COPY docs/openapi.yaml", 1),
        "a runtime package Debian does not have": text.replace("libjsoncpp25", "libjsoncpp99", 1),
        "a linked library's package left out": text.replace(" libfcgi0ldbl", "", 1),
        "the predictd stage as root": text.replace("USER 10001:10001", "USER 0", 1),
        "a base that is not Debian 12": text.replace("FROM debian:bookworm-slim AS nginx",
                                                     "FROM debian:11 AS nginx", 1),
        "NGINX stopped with SIGTERM": text.replace("STOPSIGNAL SIGQUIT", "STOPSIGNAL SIGTERM", 1),
        "another configure line": text.replace("-DCMAKE_INSTALL_PREFIX=/usr \\",
                                               "-DCMAKE_INSTALL_PREFIX=/usr/local \\", 1),
    }
    baseline = set(check(text, sys.argv[1], needed))
    for what, copy in broken.items():
        if copy == text:
            fails.append(f"negative control `{what}`: the mutation no longer applies")
        elif not set(check(copy, sys.argv[1], needed)) - baseline:
            fails.append(f"negative control: a Containerfile with {what} was accepted")
        else:
            print(f"rejected as it must be: {what}")
    if not set(check(text, sys.argv[1], needed, ignore_patterns() + ["tools/*"])) - baseline:
        fails.append("negative control: an ignore file leaving out tools/ was accepted")
    else:
        print("rejected as it must be: an ignore file that leaves out a COPY source")
    for f in fails:
        print("FAIL " + f, file=sys.stderr)
    print(f"deploy/Containerfile: {'FAILED' if fails else 'ok'}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
