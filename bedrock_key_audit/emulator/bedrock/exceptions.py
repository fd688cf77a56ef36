"""The errors the emulated Bedrock answers with (``x-amzn-ErrorType`` + a JSON message)."""
from __future__ import annotations

AUTH_FAILED_MESSAGE = "Authentication failed: Please make sure your API Key is valid."

ON_DEMAND_MESSAGE = (
    "Invocation of model ID {model_id} with on-demand throughput isn't supported. Retry your request "
    "with the ID or ARN of an inference profile that contains this model."
)
# Unknown model on the runtime: AWS answers 400 ValidationException "The provided model
# identifier is invalid." (not 404), for InvokeModel and Converse alike; the emulator does
# the same.  On the control plane, GetFoundationModel / GetInferenceProfile of an unknown
# identifier answer 404 ResourceNotFoundException.
INVALID_MODEL_MESSAGE = "The provided model identifier is invalid."
CONVERSE_UNSUPPORTED = ("This action doesn't support the model that you provided. "
                        "Try again with a supported text or chat model.")


class BedrockError(Exception):
    def __init__(self, status: int, error_type: str, message: str, message_key: str = "message") -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.message_key = message_key


def validation_error(message: str) -> BedrockError:
    return BedrockError(400, "ValidationException", message)


def auth_failed() -> BedrockError:
    return BedrockError(403, "AccessDeniedException", AUTH_FAILED_MESSAGE, message_key="Message")


def malformed_error(detail: str) -> BedrockError:
    return validation_error(f"Malformed input request: {detail}, please reformat your input and try again.")
