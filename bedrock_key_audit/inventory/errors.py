"""The inventory's two exceptions (a failed read, and a secret region that is a verdict), and the words by which
Secrets Manager says KMS refused it."""
from __future__ import annotations

from bedrock_key_audit.checkcore import CouldNotDecide


class ReadError(CouldNotDecide):
    """An AWS read failed; the message says which call, why, and what to do."""


class BadRegion(Exception):
    """The secret names a region the workload cannot call Bedrock in (a verdict, not an error)."""


# Secrets Manager calls KMS with the caller's own permissions and, when KMS refuses, answers
# AccessDeniedException "Access to KMS is not allowed" ("Secret encryption and decryption in AWS
# Secrets Manager", https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html:
# reading a secret needs kms:Decrypt on its key, writing a value kms:GenerateDataKey).
KMS_VIA_SECRETS_MANAGER = "access to kms is not allowed"
