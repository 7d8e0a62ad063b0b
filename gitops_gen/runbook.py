"""The onboarding and offboarding runbooks as a person reads them after `add` / `remove`:
host, namespace, database, secrets, and what Argo CD does next, in its order.

Everything here is read off the customer's built objects (`syncplan`), not restated from
the chart, so it says what will really happen.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitops_gen.model import Manifest
from gitops_gen.platform import Platform
from gitops_gen.spec import CustomerSpec
from gitops_gen.syncplan import database_of, generated_secrets, is_hook, sync_steps


def onboarding(platform: Platform, spec: CustomerSpec, manifests: Sequence[Manifest],
               paths: Sequence[str], committed: bool) -> list[str]:
    """What `add` prints under its summary line."""
    lines = [
        f"  host:      https://{spec.host}  (DNS: {_dns(platform, paths)})",
        f"  namespace: {spec.namespace}",
    ]
    database = database_of(manifests)
    if database:
        lines.append(f"  database:  {_database(database)}")
    secrets = generated_secrets(manifests)
    if secrets:
        lines.append("  secrets:   " + "; ".join(
            f"{s.name} ({', '.join(s.keys)}: {s.source}"
            + (", during syncs only)" if s.during_sync_only else ")") for s in secrets))
    steps = sync_steps(manifests)
    if steps:
        when = "once pushed, Argo CD" if committed else "once committed and pushed, Argo CD"
        lines.append(f"  next:      {when} syncs it in this order, each wave once the one "
                     "before is healthy:")
        width = max(len(step.title) for step in steps)
        for step in steps:
            objects = ", ".join(_object(m) for m in step.objects)
            phase = "" if step.phase == "Sync" else f"{step.phase} "
            lines.append(f"    {phase}wave {step.wave:>2}  {step.title:<{width}}  {objects}")
    return lines


def offboarding(manifests: Sequence[Manifest]) -> str:
    """What `remove` says is kept, and how to drop it once retention allows."""
    database = database_of(manifests)
    if "name" not in database:
        return "its database, if any, is kept (drop it by hand when retention allows)"
    name = database["name"]
    if "role" not in database:
        return f"its database {name} is kept (drop it by hand when retention allows)"
    role, server = database["role"], database["server"]
    return (f"its database {name} and role {role} on {server} are kept (their Secrets go "
            "with the namespace; adding the customer again resets the role's password). "
            f"When retention allows, as the server's admin: DROP DATABASE {name}; "
            f"DROP ROLE {role};")


def _dns(platform: Platform, paths: Sequence[str]) -> str:
    provider = (platform.config.get("dns") or {}).get("provider")
    if provider == "external-dns":
        target = (platform.config.get("dns") or {}).get("target")
        record = f"a CNAME to {target}" if target else "the record"
        return f"ExternalDNS makes {record} from the Ingress"
    if provider == "terraform":
        inputs = [p for p in paths if p.endswith(".tfvars.json")]
        where = ", ".join(inputs) or "the generated tfvars (unchanged)"
        return f"record in {where}; the platform's DNS Terraform applies it"
    return "not managed by gitops-gen: add the record by hand"


def _database(database: dict[str, str]) -> str:
    name = database.get("name", "?")
    if "role" not in database:
        return f"{name} (exists already: not created by the platform)"
    return (f"{name}, role {database['role']}, on {database['server']}: created if missing "
            f"by Job {database['job']} before the migrations")


def _object(manifest: Manifest) -> str:
    return f"{manifest.kind} {manifest.name}" + (" (hook)" if is_hook(manifest) else "")
