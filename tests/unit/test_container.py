"""The Docker image and the compose file keep their deployment rules (issue 14 item 10):
read as text, since no container runs in the test suite."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def services() -> dict[str, str]:
    """docker-compose.yml's services, each as the text of its block."""
    block = read("docker-compose.yml").split("\nservices:\n", 1)[1].split("\nvolumes:\n")[0]
    found = re.split(r"^  ([a-z-]+):\n", block, flags=re.M)
    return dict(zip(found[1::2], found[2::2], strict=True))


def test_the_base_image_is_pinned_to_a_patch_release_of_python_3_11() -> None:
    images = re.findall(r"^FROM (\S+)", read("Dockerfile"), re.M)
    assert len(images) == 1 and re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", images[0])


def test_the_image_installs_the_locked_dependencies_with_their_hashes_only() -> None:
    dockerfile = read("Dockerfile")
    assert "pip install --require-hashes --no-deps -r requirements.lock" in dockerfile
    assert re.findall(r"pip install (?!--require-hashes)(.*)", dockerfile) == ["--no-deps . \\"]


def test_the_database_password_comes_from_the_env_file_never_from_compose() -> None:
    compose = read("docker-compose.yml")
    for line in compose.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if "POSTGRES_PASSWORD" in line or "REGISTRY_DATABASE_URL" in line:
            assert re.search(r"\$\{POSTGRES_PASSWORD:\?", line), line
    assert ".env" in read(".gitignore").splitlines()
    assert re.search(r"^POSTGRES_PASSWORD=$", read(".env.example"), re.M)


def test_the_api_listens_on_localhost_unless_told_otherwise() -> None:
    ports = re.findall(r'^\s+- "(.*):8000"$', services()["api"], re.M)
    assert ports == ["${API_BIND_ADDRESS:-127.0.0.1}:${API_PORT:-8000}"]


def test_long_running_services_restart_and_the_demo_runs_once() -> None:
    restart = {name: re.findall(r"^    restart: (.*)$", text, re.M)
               for name, text in services().items()}
    assert restart == {"db": ["unless-stopped"], "api": ["unless-stopped"], "demo": ['"no"']}


def test_compose_runs_in_production_and_the_demo_is_an_explicit_profile() -> None:
    compose = read("docker-compose.yml")
    assert "REGISTRY_ENV: ${REGISTRY_ENV:-production}" in compose
    assert re.search(r"^    REGISTRY_ENV=production \\$", read("Dockerfile"), re.M)
    demo = services()["demo"]
    assert 'profiles: ["demo"]' in demo
    seeding = [name for name, text in services().items()
               if re.search(r"^    command: .*seed", text, re.M)]
    assert seeding == ["demo"]
