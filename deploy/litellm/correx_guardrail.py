"""
Correx's custom guardrail for the LiteLLM proxy (written against litellm[proxy]==1.106.12).

LiteLLM's Generic Guardrail API can only block a call or rewrite its texts. This guardrail asks the same
Correx endpoint before each call (POST <api_base>/beta/litellm_basic_guardrail_api) and also does what
Correx's answer obliges:

- a rollback: the call goes to the LiteLLM model that serves the target version (data["model"]);
- a capability restriction's filter profile: sent to the model deployment as the header
  x-correx-filter-profile (with x-correx-model-version and x-correx-policy-version, as at Envoy);
- a refusal: the caller gets Correx's message with 403 (a restriction), 429 and retry-after (a rate
  limit) or 503 (Correx cannot vouch for its policy, or cannot be reached, with fail_closed).

Copy this file next to LiteLLM's config.yaml (LiteLLM loads `correx_guardrail.py` from the config's
directory) or put its directory on PYTHONPATH, and configure it (docs/gateways.md):

    guardrails:
      - guardrail_name: correx
        litellm_params:
          guardrail: correx_guardrail.CorrexGuardrail
          mode: pre_call
          default_on: true
          api_base: http://correx.internal:8080/v1/gateways/litellm/<systemId>
          api_key: os.environ/CORREX_GATEWAY_TOKEN
          unreachable_fallback: fail_closed      # or fail_open
          timeout: 2                             # seconds for each question to Correx
          extra_headers: [x-correx-user, x-correx-org, x-correx-tier, x-correx-region, x-correx-use-case, x-correx-capability]
          model_versions: { "2026-08-02": meridian-4-2026-08-02 }   # optional: version -> LiteLLM model_name
          version_model_template: "{model}-{version}"              # for versions not in model_versions

Only the caller's identity (LiteLLM's user_api_key_* fields, the OpenAI `user`), the listed request headers
and the requested model go to Correx; the prompt does not.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

import httpx
from fastapi import HTTPException

from litellm._logging import verbose_proxy_logger
from litellm.caching.caching import DualCache
from litellm.integrations.custom_guardrail import CustomGuardrail, log_guardrail_information
from litellm.types.guardrails import GuardrailEventHooks

try:  # the proxy's types; absent only when this file is imported outside the proxy
    from litellm.proxy._types import UserAPIKeyAuth
except ImportError:  # pragma: no cover
    UserAPIKeyAuth = Any  # type: ignore[misc,assignment]

ENDPOINT = "/beta/litellm_basic_guardrail_api"
DEFAULT_EXTRA_HEADERS = (
    "x-correx-user",
    "x-correx-org",
    "x-correx-tier",
    "x-correx-region",
    "x-correx-use-case",
    "x-correx-capability",
)
# Set on the call to the model only from Correx's answer: a client's own are removed first.
UPSTREAM_HEADERS = ("x-correx-filter-profile", "x-correx-model-version", "x-correx-policy-version")
# The caller's identity as LiteLLM records it in the request's metadata (what the generic guardrail sends).
IDENTITY_FIELDS = (
    "user_api_key_alias",
    "user_api_key_user_id",
    "user_api_key_user_email",
    "user_api_key_team_id",
    "user_api_key_team_alias",
    "user_api_key_end_user_id",
    "user_api_key_org_id",
)


class CorrexRefusal(HTTPException):
    """A call Correx refused (or could not answer for), with the status the caller gets."""

    def __init__(self, status_code: int, message: str, headers: Mapping[str, str] | None = None, **details: Any):
        # LiteLLM answers {"error": {"message": <detail["error"]>, "type": <by status>, "code": "<status>",
        # "provider_specific_fields": <detail>}}, with the headers.
        detail = {"error": message, **{k: v for k, v in details.items() if v is not None}}
        super().__init__(status_code=status_code, detail=detail, headers=dict(headers or {}))


class CorrexGuardrail(CustomGuardrail):
    def __init__(
        self,
        api_base: str | None = None,
        api_key: str | None = None,
        unreachable_fallback: Literal["fail_closed", "fail_open"] = "fail_closed",
        extra_headers: list[str] | None = None,
        model_versions: Mapping[str, str] | None = None,
        version_model_template: str | None = None,
        enforcement_point: str | None = None,
        **kwargs: Any,
    ):
        base = api_base or os.environ.get("CORREX_LITELLM_API_BASE")
        if not base:
            raise ValueError("correx_guardrail: set api_base to http(s)://<correx>/v1/gateways/litellm/<systemId>")
        self.url = base if base.rstrip("/").endswith(ENDPOINT) else base.rstrip("/") + ENDPOINT
        self.api_key = api_key or os.environ.get("CORREX_GATEWAY_TOKEN")
        if unreachable_fallback not in ("fail_closed", "fail_open"):
            raise ValueError(f"correx_guardrail: unreachable_fallback must be fail_closed or fail_open, not {unreachable_fallback!r}")
        self.unreachable_fallback = unreachable_fallback
        self.request_headers = tuple(h.lower() for h in (extra_headers or DEFAULT_EXTRA_HEADERS) if isinstance(h, str))
        # str(): YAML reads an unquoted 2026-08-02 as a date.
        self.model_versions = {str(k): str(v) for k, v in (model_versions or {}).items()}
        self.version_model_template = version_model_template or "{model}-{version}"
        self.enforcement_point = enforcement_point
        kwargs.setdefault("supported_event_hooks", [GuardrailEventHooks.pre_call])
        super().__init__(**kwargs)
        # CustomGuardrail keeps `timeout` (seconds) when it is configured; 2 s otherwise.
        self.timeout = float(getattr(self, "timeout", None) or 2.0)
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    # --- the question --------------------------------------------------------------------------------

    def question(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The Generic Guardrail API body, as far as Correx reads it: model, identity, listed headers."""
        metadata: dict[str, Any] = {}
        for key in ("metadata", "litellm_metadata"):
            value = data.get(key)
            if isinstance(value, Mapping):
                metadata.update(value)
        identity = {k: metadata[k] for k in IDENTITY_FIELDS if isinstance(metadata.get(k), str) and metadata[k]}
        if "user_api_key_end_user_id" not in identity and isinstance(data.get("user"), str) and data["user"]:
            identity["user_api_key_end_user_id"] = data["user"]
        inbound = (data.get("proxy_server_request") or {}).get("headers") or metadata.get("headers") or {}
        headers = {
            str(k).lower(): str(v) for k, v in inbound.items() if isinstance(k, str) and k.lower() in self.request_headers
        }
        logging_obj = data.get("litellm_logging_obj")
        return {
            "input_type": "request",
            "litellm_call_id": getattr(logging_obj, "litellm_call_id", None) or data.get("litellm_call_id"),
            "texts": [],
            "request_data": identity,
            "request_headers": headers,
            "model": data.get("model"),
        }

    async def ask(self, data: Mapping[str, Any]) -> dict[str, Any] | None:
        """Correx's answer; None when Correx cannot be reached (refused connection, timeout, 502, 503, 504)."""
        headers = {"content-type": "application/json"}
        if self.api_key:
            headers["x-api-key"] = self.api_key
        if self.enforcement_point:
            headers["x-correx-enforcement-point"] = self.enforcement_point
        try:
            response = await self._http().post(self.url, json=self.question(data), headers=headers, timeout=self.timeout)
        except (httpx.TimeoutException, httpx.TransportError) as error:
            verbose_proxy_logger.error("correx_guardrail: Correx unreachable at %s: %r", self.url, error)
            return None
        if response.status_code in (502, 503, 504):
            verbose_proxy_logger.error("correx_guardrail: Correx answered %s", response.status_code)
            return None
        try:
            answer = response.json() if response.status_code == 200 else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or answer.get("action") not in ("NONE", "BLOCKED", "GUARDRAIL_INTERVENED"):
            # Not an answer: a misconfiguration, never a reason to let the call through.
            raise CorrexRefusal(503, f"Correx gave no usable answer (HTTP {response.status_code}); the call is refused.")
        return answer

    # --- the answer ----------------------------------------------------------------------------------

    def model_for_version(self, requested: str | None, version: str) -> str:
        if version in self.model_versions:
            return self.model_versions[version]
        return self.version_model_template.format(model=requested or "", version=version)

    @staticmethod
    def _offered(model: str) -> bool | None:
        """Whether this proxy's router offers `model` (None when it cannot tell)."""
        try:
            from litellm.proxy.proxy_server import llm_router
        except Exception:  # pragma: no cover
            return None
        if llm_router is None:
            return None
        try:
            names = set(llm_router.get_model_names()) | set(getattr(llm_router, "model_group_alias", None) or {})
        except Exception:  # pragma: no cover
            return None
        return model in names

    @staticmethod
    def _set_upstream_headers(data: dict[str, Any], values: Mapping[str, str]) -> None:
        for key in ("extra_headers", "headers"):
            existing = data.get(key)
            if isinstance(existing, dict):
                for name in [n for n in existing if isinstance(n, str) and n.lower() in UPSTREAM_HEADERS]:
                    del existing[name]
        if values:
            extra = data.get("extra_headers")
            data["extra_headers"] = {**(extra if isinstance(extra, dict) else {}), **values}

    @log_guardrail_information
    async def async_pre_call_hook(
        self,
        user_api_key_dict: UserAPIKeyAuth,
        cache: DualCache,
        data: dict,
        call_type: str,
    ) -> dict | None:
        answer = await self.ask(data)
        if answer is None:
            if self.unreachable_fallback == "fail_open":
                verbose_proxy_logger.critical("correx_guardrail: Correx unreachable; the call goes on (fail_open)")
                self._set_upstream_headers(data, {})
                return data
            raise CorrexRefusal(
                503,
                "The service cannot confirm its operator's safety restrictions at the moment; try again shortly.",
                {"retry-after": "1"},
            )
        details = answer.get("correx") if isinstance(answer.get("correx"), dict) else {}
        if answer["action"] == "BLOCKED":
            reason = answer.get("blocked_reason") or "Refused by the operator's safety restrictions."
            outcome = details.get("outcome")
            if outcome == "throttle":
                retry = details.get("retryAfterSeconds")
                headers = {"retry-after": str(int(retry))} if isinstance(retry, (int, float)) else {}
                raise CorrexRefusal(429, reason, headers, correction=details.get("correction"))
            if outcome == "unavailable":
                raise CorrexRefusal(503, reason, {"retry-after": "1"})
            raise CorrexRefusal(403, reason, correction=details.get("correction"))

        values: dict[str, str] = {}
        if isinstance(details.get("policyVersion"), int):
            values["x-correx-policy-version"] = str(details["policyVersion"])
        profile = details.get("filterProfile")
        if isinstance(profile, str) and profile:
            values["x-correx-filter-profile"] = profile
        version = details.get("modelVersion")
        if isinstance(version, str) and version:
            requested = data.get("model") if isinstance(data.get("model"), str) else None
            target = self.model_for_version(requested, version)
            if target != requested:
                if self._offered(target) is False:
                    raise CorrexRefusal(
                        503,
                        f"The operator serves model version {version} only while an incident is handled, "
                        f"and this gateway has no model {target} for it; the call is refused.",
                    )
                metadata = data.get("metadata")
                if isinstance(metadata, dict):
                    metadata["correx_requested_model"] = requested
                    metadata["correx_model_version"] = version
                data["model"] = target
            values["x-correx-model-version"] = version
        self._set_upstream_headers(data, values)
        return data
