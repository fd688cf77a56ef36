"""The README a newcomer reads: what the project is before any command; each command of its tables with what
to expect and how long it takes; the configuration paragraph naming each key once; the two locks."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _tables_with(header: str) -> list[list[list[str]]]:
    """The Markdown tables whose header row starts with ``header``: their rows' cells."""
    tables, current = [], None
    for line in README.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if current is None:
                current = [cells] if cells and cells[0] == header else []
            elif current:
                current.append(cells)
        else:
            if current:
                tables.append(current)
            current = None
    return tables


def test_what_it_is_comes_before_the_first_command():
    first_command = min(i for i in (README.find("```sh"), README.find("| command |")) if i >= 0)
    intro = README[:first_command]
    assert "pytest compliance audit" in intro and "Amazon Bedrock long-term API key" in intro


def test_each_try_and_install_command_says_what_to_expect_and_how_long():
    tables = [t for t in _tables_with("command") if len(t[0]) == 3 and t[0][1] == "what you should see"
              and t[0][2].startswith("time")]
    assert len(tables) >= 2, "the 'Try it' and the install tables"
    for table in tables:
        for row in table[2:]:  # header, separator
            command, expect, took = row
            assert command and expect and took, row
            assert re.search(r"\d|depends", took), row


def test_the_configuration_paragraph_names_each_key_once():
    section = README[README.index("## Configuration"):]
    section = section[:section.index("\n## ", 1)]
    keys = re.findall(r"`((?:user|partitions|policy|credential|secret|endpoint)\.[\w.|{},]+)`", section)
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    assert keys and not repeated, repeated


def test_the_readme_names_both_locks_and_what_each_is_for():
    assert "requirements-dev.lock" in README and "pip install --require-hashes -r requirements.lock" in README
