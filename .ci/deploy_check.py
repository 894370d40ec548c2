"""Checks of the deployment files that no schema states, run by .ci/deploy.sh.

    python deploy_check.py chart RENDER.yaml [KIKI_BINARY]
    python deploy_check.py compose deploy/compose.yaml deploy/kiki.env.example [KIKI_BINARY]
    python deploy_check.py alerts deploy/prometheus/alerts.yaml crates/
    python deploy_check.py dashboards deploy/grafana/dashboards crates/ PROMTOOL
    python deploy_check.py smoke RENDER.yaml KIKI_BINARY POSTGRES_URL
    python deploy_check.py vault deploy/vault crates/

chart:   the rendered Helm chart keeps the published operating rules: one
         Deployment per role with the probes, the preStop pause and a grace
         period covering KIKI's own drain, the restricted securityContext,
         the HPAs' published behaviour, PDBs, the migration hook, and
         NetworkPolicies that open only the api and the bidder's exchange port
         to outside sources and PostgreSQL/Redis only to KIKI pods. With a
         `kiki` binary, every role's settings (ConfigMap variables + the
         secrets file) must pass `kiki config check` in production mode.
compose: each KIKI service of the Compose file (interpolated with fixture
         secrets) passes `kiki config check`, and the services are the ones
         the deployment promises.
alerts:  every metric an alert rule reads is one the server exports (its name
         appears in a metrics macro in crates/).
dashboards: each Grafana dashboard has its own uid, reads the provisioned
         Prometheus, only metrics the server exports, and PromQL promtool accepts.
vault:   the Vault split agrees with itself and with the code: every path a
         role reads (deploy/vault/roles.toml, its `vault.paths`) is granted
         `read` by that role's policy (policies/kiki-<role>.hcl) and nothing
         else under the KV mount is; setup.sh writes each role's policy and
         binds it to the role's AppRole and Kubernetes role; the published
         split holds (database URL, Redis URL and secret key in common, for
         every role; the model key only for api and worker); every key a
         secret holds is a configuration key of a known section.
smoke:   the rendered roles and migration Job run as the chart starts them, on a
         fresh PostgreSQL database and a private Redis: /livez answers, /readyz
         is 503 until the Job's command ran and 200 after, /metrics carries the
         alerts' metrics after traffic, and SIGTERM ends each role inside the
         pod's grace period minus the preStop pause.

Exit status 1 and one line per problem when anything is off.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

PROBLEMS: list[str] = []


def problem(msg: str) -> None:
    PROBLEMS.append(msg)


def expect(cond: bool, msg: str) -> None:
    if not cond:
        problem(msg)


def config_check(binary: str, env: dict[str, str], secrets_toml: str | None, what: str) -> None:
    """Runs `kiki config check` with exactly these KIKI settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KIKI")}
    clean.update(env)
    with tempfile.TemporaryDirectory() as tmp:
        if secrets_toml is not None:
            path = Path(tmp) / "kiki.toml"
            path.write_text(secrets_toml)
            clean["KIKI_CONFIG"] = str(path)
        else:
            clean.pop("KIKI_CONFIG", None)
        # An empty working directory: no ./kiki.toml is picked up.
        r = subprocess.run([binary, "config", "check"], env=clean, cwd=tmp, capture_output=True, text=True)
    if r.returncode != 0:
        problem(f"{what}: `kiki config check` refused the settings:\n{r.stderr.strip()}")
    else:
        print(f"ok   {what}: kiki config check accepts the settings")


# ---------------------------------------------------------------- vault

POLICY_BLOCK = re.compile(r'path\s+"([^"]+)"\s*\{([^}]*)\}', re.S)


def policy_grants(hcl: str) -> dict[str, set[str]]:
    """Path → capabilities of every `path "…" { capabilities = [...] }` block."""
    out: dict[str, set[str]] = {}
    for path, body in POLICY_BLOCK.findall(hcl):
        caps = re.search(r"capabilities\s*=\s*\[([^\]]*)\]", body)
        out[path] = set(re.findall(r'"([^"]+)"', caps.group(1))) if caps else set()
    return out


def config_sections(crates: Path) -> tuple[set[str], dict[str, set[str]]]:
    """The platform's own sections (fields of `Config`) and, per section, the
    field names declared in the crates (for the second part of a key)."""
    core_src = (crates / "kiki-server/src/config/mod.rs").read_text()
    body = core_src.split("pub struct Config {", 1)[1].split("\n}", 1)[0]
    core = set(re.findall(r"^\s*pub (\w+):", body, re.M)) - {"sections", "vault_source"}
    modules: set[str] = set()
    fields: set[str] = set()
    for rs in crates.rglob("*.rs"):
        text = rs.read_text(errors="replace")
        modules.update(re.findall(r'ConfigSection::of::<\w+>\(\s*"(\w+)"', text))
        fields.update(re.findall(r"^\s*pub (\w+):", text, re.M))
    return core | modules, {"*": fields}


def check_vault(folder: Path, crates: Path) -> None:
    import tomllib

    spec = tomllib.loads((folder / "roles.toml").read_text())
    mount = spec.get("mount", "kiki")
    secrets: dict[str, dict] = spec.get("secrets", {})
    roles: dict[str, dict] = spec.get("roles", {})
    expect(set(roles) == {"api", "bidder", "worker"}, f"roles.toml: the roles are api, bidder and worker, not {sorted(roles)}")
    setup = (folder / "setup.sh").read_text()
    m = re.search(r"^roles=\(([^)]*)\)", setup, re.M)
    expect(m is not None and set(m.group(1).split()) == set(roles), "setup.sh: `roles=(…)` lists every role of roles.toml")
    expect('vault policy write "kiki-${role}"' in setup, "setup.sh writes each role's policy")
    expect('token_policies="kiki-${role}"' in setup, "setup.sh binds each role to its own policy")
    expect("-version=2 kv" in setup, "setup.sh enables KV version 2")
    for method in ("approle", "kubernetes"):
        expect(f"auth enable {method}" in setup, f"setup.sh enables the {method} auth method")

    sections, fields = config_sections(crates)
    for name, secret in secrets.items():
        for key in secret.get("keys", []):
            parts = key.split(".")
            expect(len(parts) >= 2, f"roles.toml: secret {name} key `{key}` is not a dotted configuration key")
            expect(parts[0] in sections, f"roles.toml: secret {name} key `{key}`: no configuration section `{parts[0]}`")
            for part in parts[1:]:
                expect(part == "*" or part in fields["*"], f"roles.toml: secret {name} key `{key}`: no setting `{part}` is declared in crates/")

    for role, r in roles.items():
        before = len(PROBLEMS)
        paths = r.get("paths", [])
        for p in paths:
            expect(p in secrets, f"roles.toml: role {role} reads `{p}`, which no [secrets.{p}] describes")
        policy = folder / "policies" / f"kiki-{role}.hcl"
        if not policy.exists():
            problem(f"{policy}: missing")
            continue
        grants = policy_grants(policy.read_text())
        granted = {path.split("/data/", 1)[1] for path, caps in grants.items() if path.startswith(f"{mount}/data/") and "read" in caps}
        for p in paths:
            expect(p in granted, f"{policy.name}: role {role} reads {mount}/data/{p} but the policy does not grant read on it")
        for p in sorted(granted - set(paths)):
            problem(f"{policy.name}: grants {mount}/data/{p}, which role {role} does not read (least privilege)")
        for path in grants:
            expect(
                path.startswith(f"{mount}/data/") or path.startswith("auth/token/"),
                f"{policy.name}: grants `{path}`, outside the KV mount and the token's own endpoints",
            )
            expect("*" not in path and "+" not in path, f"{policy.name}: `{path}` is a wildcard")
        expect("auth/token/renew-self" in grants, f"{policy.name}: the role cannot renew its token")
        if len(PROBLEMS) == before:
            print(f"ok   vault role {role}: {', '.join(paths)} granted, nothing more")

    holders = {k: n for n, s in secrets.items() for k in s.get("keys", [])}
    for key in ("database.url", "redis.url", "security.secret_key"):
        expect(holders.get(key) == "common", f"roles.toml: `{key}` belongs in the common secret")
    for role, r in roles.items():
        expect("common" in r.get("paths", []), f"roles.toml: role {role} must read common")
    expect("planner" not in roles.get("bidder", {}).get("paths", []), "roles.toml: the bidder must not read the model key")
    expect("creative" not in roles.get("bidder", {}).get("paths", []), "roles.toml: the bidder must not read the creative providers' keys")


# ---------------------------------------------------------------- chart


def container(pod_spec: dict, name: str) -> dict:
    for c in pod_spec.get("containers", []):
        if c["name"] == name:
            return c
    raise KeyError(name)


def check_security(kind: str, name: str, pod: dict, c: dict) -> None:
    psc = pod.get("securityContext", {})
    csc = c.get("securityContext", {})
    where = f"{kind}/{name}"
    expect(psc.get("runAsNonRoot") is True, f"{where}: pod runAsNonRoot is not true")
    expect(csc.get("runAsNonRoot") is True, f"{where}: container runAsNonRoot is not true")
    expect(int(csc.get("runAsUser", 0)) >= 10000, f"{where}: container runs as a low UID")
    expect(csc.get("allowPrivilegeEscalation") is False, f"{where}: privilege escalation allowed")
    expect(csc.get("readOnlyRootFilesystem") is True, f"{where}: root filesystem writable")
    expect(csc.get("privileged") in (None, False), f"{where}: privileged")
    expect(csc.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: capabilities not dropped")
    expect(
        csc.get("seccompProfile", {}).get("type") == "RuntimeDefault"
        or psc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
        f"{where}: no RuntimeDefault seccomp profile",
    )
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    tmp = vols.get(mounts.get("/tmp", ""), {})
    expect("emptyDir" in tmp, f"{where}: /tmp is not an emptyDir")


def env_of(c: dict, configmaps: dict[str, dict]) -> dict[str, str]:
    env: dict[str, str] = {}
    for src in c.get("envFrom", []):
        ref = src.get("configMapRef")
        if ref:
            env.update(configmaps[ref["name"]].get("data", {}))
        expect("secretRef" not in src, f"container {c['name']}: secrets passed as variables")
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
        else:
            problem(f"container {c['name']}: variable {e['name']} not a plain value")
    return env


def secrets_file(pod: dict, secrets: dict[str, dict]) -> str | None:
    for v in pod.get("volumes", []):
        s = v.get("secret")
        if s:
            doc = secrets.get(s["secretName"])
            if doc is None:
                problem(f"volume {v['name']}: Secret {s['secretName']} is not rendered")
                return None
            return doc.get("stringData", {}).get("kiki.toml")
    return None


def policy_peers_any(rule: dict) -> bool:
    return not rule.get("from")


def check_chart(render: Path, binary: str | None) -> None:
    docs = [d for d in yaml.safe_load_all(render.read_text()) if d]
    by_kind: dict[str, dict[str, dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
        expect(d["metadata"].get("namespace"), f"{d['kind']}/{d['metadata']['name']}: no namespace")
    configmaps = by_kind.get("ConfigMap", {})
    secrets = by_kind.get("Secret", {})
    deployments = by_kind.get("Deployment", {})
    vault = False

    roles = {}
    for d in deployments.values():
        role = d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component")
        roles[role] = d
    expect(set(roles) == {"api", "bidder", "worker"}, f"Deployments per role: {sorted(roles)}")

    for role, d in roles.items():
        name = d["metadata"]["name"]
        pod = d["spec"]["template"]["spec"]
        ann = d["spec"]["template"]["metadata"].get("annotations", {})
        vault = vault or ann.get("vault.hashicorp.com/agent-inject") == "true"
        c = container(pod, "kiki")
        expect(c.get("args") == ["serve", "--roles", role], f"{name}: args {c.get('args')}")
        for probe, path in (
            ("startupProbe", "/livez"),
            ("livenessProbe", "/livez"),
            ("readinessProbe", "/readyz"),
        ):
            got = c.get(probe, {}).get("httpGet", {}).get("path")
            expect(got == path, f"{name}: {probe} on {got}, not {path}")
        cmd = c.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        expect(len(cmd) == 2 and cmd[0] == "/bin/sleep", f"{name}: no preStop pause")
        pause = int(cmd[1]) if len(cmd) == 2 else 0
        env = env_of(c, configmaps)
        http_grace = int(env.get("KIKI__HTTP__SHUTDOWN_GRACE_SECS", "30"))
        jobs_grace = int(env.get("KIKI__JOBS__SHUTDOWN_GRACE_SECS", "25"))
        tgps = int(pod.get("terminationGracePeriodSeconds", 30))
        expect(
            tgps > pause + max(http_grace, jobs_grace),
            f"{name}: terminationGracePeriodSeconds {tgps} does not cover the pause ({pause} s) "
            f"and KIKI's drain ({max(http_grace, jobs_grace)} s)",
        )
        expect(env.get("KIKI__DATABASE__RUN_MIGRATIONS") == "false", f"{name}: migrates at start")
        expect(env.get("KIKI__HTTP__BIND") == "0.0.0.0:8080", f"{name}: http.bind")
        res = c.get("resources", {})
        for k in ("cpu", "memory"):
            expect(k in res.get("requests", {}), f"{name}: no {k} request")
        expect("memory" in res.get("limits", {}), f"{name}: no memory limit")
        expect(
            pod.get("automountServiceAccountToken") in (False, vault),
            f"{name}: service-account token mounted without Vault",
        )
        if role in ("api", "bidder"):
            expect(len(pod.get("topologySpreadConstraints", [])) >= 1, f"{name}: no topology spread")
        if role == "bidder":
            expect(env.get("KIKI__BIDDER__EXCHANGE_LISTEN", "").endswith(":8081"), f"{name}: no exchange listener")
        if role == "worker":
            expect(d["spec"].get("replicas") == 1, f"{name}: worker replicas {d['spec'].get('replicas')}")
        check_security("Deployment", name, pod, c)
        if binary:
            secrets_toml = secrets_file(pod, secrets)
            if not ann.get("vault.hashicorp.com/agent-inject"):
                expect(secrets_toml is not None, f"{name}: no secrets file")
            if secrets_toml is not None:
                env["KIKI__ROLES"] = role
                config_check(binary, env, secrets_toml, f"Deployment/{name}")

    # HPAs: api and bidder 3–20 with the published behaviour.
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in by_kind.get("HorizontalPodAutoscaler", {}).values()}
    for role in ("api", "bidder"):
        h = hpas.get(roles[role]["metadata"]["name"]) if role in roles else None
        if h is None:
            problem(f"no HorizontalPodAutoscaler for {role}")
            continue
        s = h["spec"]
        expect((s["minReplicas"], s["maxReplicas"]) == (3, 20), f"HPA {role}: {s['minReplicas']}–{s['maxReplicas']}")
        up, down = s["behavior"]["scaleUp"], s["behavior"]["scaleDown"]
        up_p = sorted((p["type"], p["value"], p["periodSeconds"]) for p in up["policies"])
        expect(up_p == [("Percent", 100, 15), ("Pods", 4, 15)], f"HPA {role}: scale-up policies {up_p}")
        expect(up.get("selectPolicy", "Max") == "Max", f"HPA {role}: scale-up takes the smaller step")
        expect(down.get("stabilizationWindowSeconds") == 300, f"HPA {role}: scale-down window")
        down_p = [(p["type"], p["value"], p["periodSeconds"]) for p in down["policies"]]
        expect(down_p == [("Percent", 50, 60)], f"HPA {role}: scale-down policies {down_p}")

    # PDBs for every role.
    pdb_roles = {
        p["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/component")
        for p in by_kind.get("PodDisruptionBudget", {}).values()
    }
    expect({"api", "bidder", "worker"} <= pdb_roles, f"PodDisruptionBudgets for {sorted(pdb_roles)}")

    # The migration hook.
    jobs = by_kind.get("Job", {})
    expect(len(jobs) == 1, f"{len(jobs)} Jobs rendered")
    for name, j in jobs.items():
        ann = j["metadata"].get("annotations", {})
        expect(
            set(ann.get("helm.sh/hook", "").split(",")) == {"pre-install", "pre-upgrade"},
            f"Job/{name}: not a pre-install/pre-upgrade hook",
        )
        pod = j["spec"]["template"]["spec"]
        c = container(pod, "migrate")
        expect(c.get("args") == ["migrate"], f"Job/{name}: args {c.get('args')}")
        check_security("Job", name, pod, c)
        for ref in c.get("envFrom", []):
            cm = configmaps.get(ref.get("configMapRef", {}).get("name", ""))
            expect(
                cm is not None and "helm.sh/hook" in cm["metadata"].get("annotations", {}),
                f"Job/{name}: reads a ConfigMap that does not exist before the hook",
            )
        for v in pod.get("volumes", []):
            if "secret" in v:
                s = secrets.get(v["secret"]["secretName"])
                if s is not None:
                    expect(
                        "helm.sh/hook" in s["metadata"].get("annotations", {}),
                        f"Job/{name}: reads a Secret that does not exist before the hook",
                    )
        if binary:
            secrets_toml = secrets_file(pod, secrets)
            if secrets_toml is not None:
                config_check(binary, env_of(c, configmaps), secrets_toml, f"Job/{name}")

    # NetworkPolicies.
    pols = list(by_kind.get("NetworkPolicy", {}).values())
    kiki_sel = {"app.kubernetes.io/name": "kiki"}

    def selects(pol: dict, labels: dict) -> bool:
        ml = pol["spec"]["podSelector"].get("matchLabels", {})
        return all(labels.get(k) == v for k, v in ml.items())

    pod_labels = {role: d["spec"]["template"]["metadata"]["labels"] for role, d in roles.items()}
    for role, labels in pod_labels.items():
        mine = [p for p in pols if selects(p, labels)]
        expect(
            any(
                set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
                and not p["spec"].get("ingress")
                and not p["spec"].get("egress")
                for p in mine
            ),
            f"{role}: no default-deny policy",
        )
        open_ports = {
            port.get("port")
            for p in mine
            for rule in p["spec"].get("ingress", [])
            if policy_peers_any(rule)
            for port in rule.get("ports", [])
        }
        want = {"api": {"http"}, "bidder": {"exchange"}, "worker": set()}[role]
        expect(open_ports <= want, f"{role}: reachable from any source on {sorted(open_ports - want)}")
    for dep, port in (("database", 5432), ("redis", 6379)):
        guards = [p for p in pols if p["metadata"]["name"].endswith(f"-{dep}-from-kiki")]
        expect(len(guards) == 1, f"no policy limiting {dep} to KIKI pods")
        for g in guards:
            for rule in g["spec"].get("ingress", []):
                peers = rule.get("from", [])
                expect(
                    peers
                    and all(
                        set(kiki_sel.items()) <= set(pe.get("podSelector", {}).get("matchLabels", {}).items())
                        and "namespaceSelector" not in pe
                        and "ipBlock" not in pe
                        for pe in peers
                    ),
                    f"{dep}: reachable from pods other than KIKI's",
                )
                expect([pt.get("port") for pt in rule.get("ports", [])] == [port], f"{dep}: ports")
    if not PROBLEMS:
        print(f"ok   {render.name}: {len(docs)} objects keep the operating rules")


# ---------------------------------------------------------------- compose

INTERP = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")
FIXTURES = {
    "POSTGRES_PASSWORD": "compose-fixture-password",
    "KIKI_SECRET_KEY": "compose-fixture-secret-0123456789abcdefghijklmnop",
    "GRAFANA_ADMIN_PASSWORD": "compose-fixture-password",
    "KIKI_PUBLIC_URL": "https://kiki.example.com",
    "KIKI_BIDDER_PUBLIC_URL": "https://bid.kiki.example.com",
    "KIKI_ENV": "production",
}


def interpolate(text: str) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name in FIXTURES:
            return FIXTURES[name]
        default = re.match(r"\$\{[A-Z0-9_]+:?-(.*)\}", m.group(0))
        if default:
            return default.group(1)
        problem(f"compose: ${{{name}}} has no fixture and no default")
        return ""

    return INTERP.sub(sub, text)


def check_compose(compose: Path, kiki_env: Path, binary: str | None) -> None:
    doc = yaml.safe_load(interpolate(compose.read_text()))
    services = doc["services"]
    expect(
        {"api", "bidder", "worker", "migrate", "postgres", "redis", "proxy", "otel-collector", "prometheus", "grafana"}
        <= set(services),
        f"compose services: {sorted(services)}",
    )
    expect(services["api"].get("deploy", {}).get("replicas") == 2, "compose: api is not two replicas")
    extra = {}
    for line in kiki_env.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            k, _, v = line.partition("=")
            extra[k] = v
    for name in ("migrate", "api", "bidder", "worker"):
        svc = services[name]
        cmd = svc.get("command", [])
        if name == "migrate":
            expect(cmd == ["migrate"], f"compose {name}: command {cmd}")
        else:
            expect(cmd == ["serve", "--roles", name], f"compose {name}: command {cmd}")
            expect(svc.get("read_only") is True, f"compose {name}: root filesystem writable")
            expect(svc.get("cap_drop") == ["ALL"], f"compose {name}: capabilities kept")
        env = {k: str(v) for k, v in svc.get("environment", {}).items()}
        env.update(extra)
        for k, v in env.items():
            expect(v != "", f"compose {name}: {k} is set empty (KIKI reads it as a value)")
        if binary:
            env["KIKI__ROLES"] = "all" if name == "migrate" else name
            config_check(binary, env, None, f"compose service {name}")


# ---------------------------------------------------------------- alerts


def check_alerts(alerts: Path, crates: Path) -> None:
    exported = set()
    macro = re.compile(r'(?:counter|gauge|histogram)!\(\s*"(kiki_[a-z0-9_]+)"')
    for f in crates.rglob("*.rs"):
        exported.update(macro.findall(f.read_text(errors="replace")))
    rules = yaml.safe_load(alerts.read_text())
    used = set()
    for g in rules["groups"]:
        for r in g["rules"]:
            used.update(re.findall(r"\b(kiki_[a-z0-9_]+)", r["expr"]))
    for m in sorted(used):
        base = re.sub(r"_(bucket|sum|count)$", "", m)
        expect(m in exported or base in exported, f"alerts: {m} is not a metric the server exports")
    print(f"ok   {alerts.name}: {len(used)} metric names, all exported by the server ({len(exported)} exported)")


def check_dashboards(folder: Path, crates: Path, promtool: str) -> None:
    """Each Grafana dashboard parses, has its own uid, reads only metrics the
    server exports, and every query is PromQL that promtool accepts (written
    as recording rules, with the dashboard variables replaced by `.*`)."""
    import json

    exported = set()
    macro = re.compile(r'(?:counter|gauge|histogram)!\(\s*"(kiki_[a-z0-9_]+)"')
    for f in crates.rglob("*.rs"):
        exported.update(macro.findall(f.read_text(errors="replace")))
    uids: set[str] = set()
    files = sorted(folder.glob("*.json"))
    expect(files, f"dashboards: no dashboard in {folder}")
    for f in files:
        d = json.loads(f.read_text())
        uid = d.get("uid")
        expect(bool(uid) and uid not in uids, f"{f.name}: missing or repeated uid {uid!r}")
        uids.add(uid)
        exprs = []
        for p in d.get("panels", []):
            for t in p.get("targets", []):
                exprs.append((p.get("title"), t["expr"]))
                expect(t.get("datasource", {}).get("uid") == "prometheus",
                       f"{f.name}: panel {p.get('title')!r} does not read the provisioned Prometheus")
        expect(exprs, f"{f.name}: no query")
        for title, e in exprs:
            for m in re.findall(r"\b(kiki_[a-z0-9_]+)", e):
                base = re.sub(r"_(bucket|sum|count)$", "", m)
                expect(m in exported or base in exported,
                       f"{f.name}: panel {title!r} reads {m}, which the server does not export")
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:query_{i}", "expr": re.sub(r"\$[a-z_]+", ".*", e)}
            for i, (_, e) in enumerate(exprs)]}]}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "queries.yaml"
            path.write_text(yaml.safe_dump(rules))
            r = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
            expect(r.returncode == 0, f"{f.name}: promtool refuses a query: {r.stdout}{r.stderr}")
        print(f"ok   {f.name}: {len(exprs)} queries, valid PromQL, every metric exported")


# ---------------------------------------------------------------- smoke


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except OSError:
        return 0, ""


def wait_for(what: str, cond, timeout: float) -> float:
    import time

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if cond():
            return time.monotonic() - started
        time.sleep(0.25)
    problem(f"{what}: not within {timeout:.0f} s")
    return timeout


def smoke(render: Path, binary: str, pg_url: str) -> None:
    """Runs the three roles and the migration the way the rendered chart
    starts them (their args, ConfigMap variables and secrets file), on a
    fresh PostgreSQL database and a private Redis, and checks the contract
    the probes, the migration hook and the grace period rely on."""
    import signal
    import time
    import urllib.parse

    docs = [d for d in yaml.safe_load_all(render.read_text()) if d]
    configmaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    deployments = {
        d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]: d
        for d in docs
        if d["kind"] == "Deployment"
    }
    job = next(d for d in docs if d["kind"] == "Job")

    u = urllib.parse.urlparse(pg_url)
    dbname = f"kiki_deploy_smoke_{os.getpid()}"
    db_url = urllib.parse.urlunparse(u._replace(path=f"/{dbname}"))
    psql = ["psql", pg_url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c"]
    subprocess.run(psql + [f'DROP DATABASE IF EXISTS "{dbname}"'], check=True, capture_output=True)
    subprocess.run(psql + [f'CREATE DATABASE "{dbname}"'], check=True, capture_output=True)
    tmp = tempfile.TemporaryDirectory()
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    procs: dict[str, subprocess.Popen] = {}
    try:
        # Local stand-ins for what the cluster provides: this machine's
        # PostgreSQL and a private Redis instead of the secrets file's URLs,
        # loopback ports instead of 0.0.0.0:8080 per pod, no collector.
        local = {
            "KIKI__DATABASE__URL": db_url,
            "KIKI__REDIS__URL": f"redis://127.0.0.1:{redis_port}/0",
        }

        def role_env(pod: dict, c: dict) -> dict[str, str]:
            env = env_of(c, configmaps)
            env.pop("KIKI__TELEMETRY__OTLP_ENDPOINT", None)
            toml = secrets_file(pod, secrets)
            path = Path(tmp.name) / f"{c['name']}-{len(os.listdir(tmp.name))}.toml"
            path.write_text(toml or "")
            env["KIKI_CONFIG"] = str(path)
            env.update(local)
            clean = {k: v for k, v in os.environ.items() if not k.startswith("KIKI")}
            clean.update(env)
            return clean

        ports = {}
        exchange_port = free_port()
        for role, d in deployments.items():
            pod = d["spec"]["template"]["spec"]
            c = container(pod, "kiki")
            env = role_env(pod, c)
            ports[role] = free_port()
            env["KIKI__HTTP__BIND"] = f"127.0.0.1:{ports[role]}"
            if role == "bidder":
                env["KIKI__BIDDER__EXCHANGE_LISTEN"] = f"127.0.0.1:{exchange_port}"
            log = open(Path(tmp.name) / f"{role}.log", "w")
            procs[role] = subprocess.Popen([binary, *c["args"]], env=env, cwd=tmp.name, stdout=log, stderr=log)
        base = {r: f"http://127.0.0.1:{p}" for r, p in ports.items()}

        for role in procs:
            t = wait_for(f"{role}: /livez 200", lambda r=role: http("GET", base[r] + "/livez")[0] == 200, 60)
            print(f"ok   {role}: /livez 200 after {t:.1f} s (startup probe allows 120 s)")
            code, _ = http("GET", base[role] + "/readyz")
            expect(code == 503, f"{role}: /readyz {code} before the migration ran (expected 503)")
            if code == 503:
                print(f"ok   {role}: /readyz 503 while migrations are pending")

        jpod = job["spec"]["template"]["spec"]
        jc = container(jpod, "migrate")
        r = subprocess.run([binary, *jc["args"]], env=role_env(jpod, jc), cwd=tmp.name, capture_output=True, text=True)
        expect(r.returncode == 0, f"migration Job command failed: {r.stderr.strip()[-500:]}")
        print(f"ok   migration Job command `kiki {' '.join(jc['args'])}`: {r.stdout.strip()}")

        for role in procs:
            t = wait_for(
                f"{role}: /readyz 200 after the migration",
                lambda r=role: http("GET", base[r] + "/readyz")[0] == 200,
                30,
            )
            print(f"ok   {role}: /readyz 200 {t:.1f} s after the migration")

        # The image's HEALTHCHECK command, pointed at the api's port: passes
        # on a serving process, fails on a closed port.
        import json

        hc = re.search(r"^HEALTHCHECK .*?CMD (\[.*\])$", Path("Dockerfile").read_text().replace("\\\n", ""), re.M)
        if hc is None:
            problem("Dockerfile: no HEALTHCHECK CMD in exec form")
        else:
            cmd = json.loads(hc.group(1))
            for port, want in ((ports["api"], 0), (free_port(), 1)):
                argv = [a.replace("/8080", f"/{port}") for a in cmd]
                got = subprocess.run(argv, capture_output=True, timeout=10).returncode
                expect((got == 0) == (want == 0), f"HEALTHCHECK on port {port}: exit {got}")
            print("ok   the image's HEALTHCHECK command passes on a serving api and fails on a closed port")

        # Traffic, so the request and bid metrics exist; then /metrics must
        # carry the names the alert rules read.
        http("GET", base["api"] + "/v1/status")
        key = None
        toml = secrets_file(deployments["bidder"]["spec"]["template"]["spec"], secrets) or ""
        m = re.search(r'key = "([^"]+)"', toml)
        if m:
            key = m.group(1)
        bid = b'{"id":"smoke-1","imp":[{"id":"1","banner":{"w":300,"h":250}}],"tmax":120}'
        code, _ = http(
            "POST",
            f"http://127.0.0.1:{exchange_port}/openrtb2/bid",
            bid,
            {"content-type": "application/json", **({"x-kiki-exchange-key": key} if key else {})},
        )
        expect(code in (200, 204), f"bidder: the exchange listener answered {code} to a bid request")
        print(f"ok   bidder: exchange listener answered a bid request with {code}")
        want = {
            "api": ["kiki_http_requests_total", "kiki_http_request_duration_seconds_bucket", "kiki_db_pool_waiting"],
            "bidder": ["kiki_bidder_requests_total", "kiki_bidder_decision_seconds_bucket"],
            "worker": ["kiki_db_pool_waiting"],
        }
        for role, names in want.items():
            _, text = http("GET", base[role] + "/metrics")
            missing = [n for n in names if not re.search(rf"^{n}[{{ ]", text, re.M)]
            expect(not missing, f"{role}: /metrics lacks {missing}")
            if not missing:
                print(f"ok   {role}: /metrics has {', '.join(names)}")

        # SIGTERM: every role must finish its drain inside the pod's grace
        # period minus the preStop pause.
        for role, p in procs.items():
            pod = deployments[role]["spec"]["template"]["spec"]
            cmd = container(pod, "kiki")["lifecycle"]["preStop"]["exec"]["command"]
            budget = int(pod["terminationGracePeriodSeconds"]) - int(cmd[1])
            started = time.monotonic()
            p.send_signal(signal.SIGTERM)
            try:
                rc = p.wait(timeout=budget)
                took = time.monotonic() - started
                expect(rc == 0, f"{role}: exit status {rc} after SIGTERM")
                print(f"ok   {role}: stopped {took:.1f} s after SIGTERM (exit {rc}; the pod allows {budget} s)")
            except subprocess.TimeoutExpired:
                problem(f"{role}: still running {budget} s after SIGTERM")
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        if PROBLEMS:
            for role in procs:
                log = Path(tmp.name) / f"{role}.log"
                print(f"---- {role} log (last lines)")
                print("\n".join(log.read_text(errors="replace").splitlines()[-15:]))
        redis.terminate()
        redis.wait()
        subprocess.run(psql + [f'DROP DATABASE IF EXISTS "{dbname}"'], capture_output=True)
        tmp.cleanup()


def main() -> int:
    mode, *args = sys.argv[1:]
    if mode == "chart":
        check_chart(Path(args[0]), args[1] if len(args) > 1 else None)
    elif mode == "compose":
        check_compose(Path(args[0]), Path(args[1]), args[2] if len(args) > 2 else None)
    elif mode == "alerts":
        check_alerts(Path(args[0]), Path(args[1]))
    elif mode == "dashboards":
        check_dashboards(Path(args[0]), Path(args[1]), args[2])
    elif mode == "smoke":
        smoke(Path(args[0]), args[1], args[2])
    elif mode == "vault":
        check_vault(Path(args[0]), Path(args[1]))
    else:
        print(__doc__)
        return 2
    for p in PROBLEMS:
        print(f"FAIL {p}")
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
