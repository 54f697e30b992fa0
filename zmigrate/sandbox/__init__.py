"""The local Zoho: accounts server, Books v3, Inventory v1 (and CRM v8), with Zoho's quotas.

Public API (see ``app`` for the admin API, ``core`` for the product plug-in interface,
``tokens`` for the accounts server, ``faults`` for fault injection)::

    from zmigrate.sandbox import SandboxConfig, start_sandbox
    async with start_sandbox(SandboxConfig(clock_speed=600)) as sb:
        sb.urls, sb.credentials, sb.clock, sb.issue_token(), sb.state()
"""

from zmigrate.sandbox.app import Credentials, Sandbox, SandboxConfig, start_sandbox

__all__ = ["Credentials", "Sandbox", "SandboxConfig", "start_sandbox"]
