"""schemathesis hooks for scripts/schemathesis.ts, which names this file in the run's configuration."""

import os

import schemathesis

# Ids and prefixes of the run's own credentials (its admin token, the integration key it offers as a
# PagerDuty routing key), and the id of a decoy admin token nothing else uses.
PROTECTED = set(filter(None, os.environ.get("CORREX_SCHEMATHESIS_PROTECTED_TOKENS", "").split(",")))
DECOY = os.environ.get("CORREX_SCHEMATHESIS_DECOY_TOKEN", "")


@schemathesis.hook
def before_call(context, case, **kwargs):
    """Sends a revocation of the run's own credentials to the decoy instead.

    schemathesis takes token ids from `GET /v1/tokens` and revokes them with
    `DELETE /v1/tokens/{token}`, its own among them. After that every request would answer 401,
    which schemathesis accepts for valid data, so the rest of the run would test nothing. The
    decoy is the same kind of token, so the operation is exercised the same way.
    """
    if case.method.upper() == "DELETE" and case.path_parameters and case.path_parameters.get("token") in PROTECTED:
        case.path_parameters["token"] = DECOY
