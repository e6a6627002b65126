"""The trainer never sends MLflow usage telemetry unless the user opts in."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Variables that MLflow 3.6 takes as "running in CI" (mlflow/telemetry/utils.py), which also disable it.
CI_MARKERS = {
    "PYTEST_CURRENT_TEST",
    "GITHUB_ACTIONS",
    "CI",
    "CIRCLECI",
    "GITLAB_CI",
    "JENKINS_URL",
    "TRAVIS",
    "TF_BUILD",
    "BITBUCKET_BUILD_NUMBER",
    "CODEBUILD_BUILD_ARN",
    "BUILDKITE",
    "TEAMCITY_VERSION",
    "CLOUD_RUN_EXECUTION",
    "RUNBOT_HOST_URL",
    "RUNBOT_BUILD_NAME",
    "RUNBOT_WORKER_ID",
    "MLFLOW_DISABLE_TELEMETRY",
    "DO_NOT_TRACK",
}
PROBE = "import trainer.registry; from mlflow.telemetry.utils import is_telemetry_disabled; print(is_telemetry_disabled())"


def _telemetry_disabled(**overrides: str) -> str:
    # Without CI/PYTEST markers, which MLflow itself treats as "disable telemetry".
    env = {k: v for k, v in os.environ.items() if k not in CI_MARKERS}
    env.update(overrides)
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=True)
    return proc.stdout.strip().splitlines()[-1]


def test_telemetry_is_off_by_default():
    assert _telemetry_disabled() == "True"


def test_a_user_can_opt_in():
    assert _telemetry_disabled(MLFLOW_DISABLE_TELEMETRY="false", DO_NOT_TRACK="false") == "False"
