"""Podium client: the Python library and the `podium` command line.

::

    import podium

    with podium.Client() as client:          # URL and token from env or config
        client.download("mnist")             # ./data/mnist, checked by sha256
        sub = client.submit("mnist", "preds.csv", message="cnn, 5 epochs")
        sub = client.wait(sub.id)
        print(sub.status, sub.public_score)
"""

from ._client import Client
from ._config import (
    DEFAULT_URL,
    InsecureConfigWarning,
    Settings,
    config_path,
    load_config,
    resolve_settings,
    save_config,
)
from ._exceptions import (
    APIError,
    AuthenticationError,
    ChecksumError,
    ConflictError,
    ConnectionError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PodiumError,
    QuotaExceededError,
    ServerError,
    TimeoutError,
    ValidationError,
)
from ._models import (
    Challenge,
    ChallengeFile,
    DownloadResult,
    Leaderboard,
    LeaderboardEntry,
    LimitLeft,
    SolutionInfo,
    Submission,
    SubmissionId,
    Team,
    User,
)
from ._rules import Announcement, Baseline, BundleError, check_bundle
from ._version import __version__

__all__ = [
    "Announcement",
    "Baseline",
    "BundleError",
    "check_bundle",
    "DEFAULT_URL",
    "APIError",
    "AuthenticationError",
    "Challenge",
    "ChallengeFile",
    "ChecksumError",
    "Client",
    "ConflictError",
    "ConnectionError",
    "DownloadResult",
    "InsecureConfigWarning",
    "Leaderboard",
    "LeaderboardEntry",
    "LimitLeft",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PodiumError",
    "QuotaExceededError",
    "ServerError",
    "Settings",
    "SolutionInfo",
    "Submission",
    "SubmissionId",
    "Team",
    "TimeoutError",
    "User",
    "ValidationError",
    "__version__",
    "config_path",
    "load_config",
    "resolve_settings",
    "save_config",
]

# Show the public names as `podium.X` in reprs and tracebacks, as httpx does.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("podium._"):
        _obj.__module__ = "podium"
del _name, _obj
