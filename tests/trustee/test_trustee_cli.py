"""`tinget trustee` and `tinget verify` as trustees and a voter use them: files in, files out, a private state
file per trustee, and a record that any k of n trustees decrypt and anyone verifies."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from protocol.ballots import ballot, board, poll, record, verify
from protocol.ballots.keygen import ElectionKey
from tests.support.elections import cast_all, seeded
from tinget.cli import cli

RULES = poll.single_choice("poll-cli", ("north", "south"))


def run(*args: str | Path) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result


def ok(*args: str | Path) -> Result:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def ceremony(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three trustees run the three rounds in their own directories; the test relays the files like the hub."""
    hub = tmp_path_factory.mktemp("hub")
    ok("trustee", "ceremony", "--poll", RULES.poll_id, "--threshold", "2",
       "--trustee", "anna", "--trustee", "bo", "--trustee", "cy", "--out", hub / "ceremony.json")  # fmt: skip
    announced = [hub / f"announce-{i}.json" for i in (1, 2, 3)]
    for i in (1, 2, 3):
        ok("trustee", "keygen", "announce", hub / "ceremony.json", "--me", str(i),
           "--state", hub / f"trustee-{i}.state", "--out", announced[i - 1])  # fmt: skip
    for i in (1, 2, 3):
        result = ok("trustee", "keygen", "deliver", hub / "ceremony.json", *announced,
                    "--state", hub / f"trustee-{i}.state", "--out", hub / f"deliver-{i}.json")  # fmt: skip
        assert "transcript fingerprint" in result.output
    deliveries = [a for i in (1, 2, 3) for a in ("--delivery", hub / f"deliver-{i}.json")]
    for i in (1, 2, 3):
        ok("trustee", "keygen", "finish", hub / "ceremony.json", *announced, *deliveries,
           "--state", hub / f"trustee-{i}.state", "--out", hub / f"confirm-{i}.json")  # fmt: skip
    confirmations = [a for i in (1, 2, 3) for a in ("--confirmation", hub / f"confirm-{i}.json")]
    ok("trustee", "keygen", "complete", hub / "ceremony.json", *announced, *confirmations, "--out", hub / "key.json")
    return hub


@pytest.fixture(scope="module")
def closed_board(ceremony: Path) -> Path:
    """The hub's closed board after a few ballots (a re-vote among them)."""
    key = ElectionKey.from_json(json.loads((ceremony / "key.json").read_text()))
    from tests.support.elections import Election

    election = Election(RULES, key, {})
    casts = [("v1", 1, frozenset({0})), ("v2", 2, frozenset({1})), ("v1", 3, frozenset({1})), ("v3", 4, frozenset({0}))]
    entries = cast_all(election, casts, seeded("cli-ballots"), rejected=1)
    path = ceremony / "board.jsonl"
    path.write_bytes(b"".join(record.board_lines(RULES, key, entries)))
    return path


def test_the_state_file_is_private_and_holds_only_the_share_after_keygen(ceremony: Path) -> None:
    """SEC-05 / SEC-20: mode 0600; after round 3 the polynomial is gone and only the key share remains."""
    state_file = ceremony / "trustee-1.state"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    state = json.loads(state_file.read_text())
    assert state["coefficients"] == [] and len(state["share"]) == 64
    key = json.loads((ceremony / "key.json").read_text())
    assert state["share"] not in json.dumps(key)


def test_a_state_file_others_can_read_is_refused(ceremony: Path, tmp_path: Path) -> None:
    loose = tmp_path / "loose.state"
    loose.write_bytes((ceremony / "trustee-2.state").read_bytes())
    os.chmod(loose, 0o644)
    result = CliRunner().invoke(cli, ["trustee", "decrypt", str(ceremony / "ceremony.json"), "--state", str(loose),
                                      "--out", str(tmp_path / "x.json")])  # fmt: skip
    assert result.exit_code != 0


@pytest.fixture(scope="module")
def decrypted(ceremony: Path, closed_board: Path) -> tuple[Path, list[str]]:
    """Trustees 1 and 3 decrypt; the hub combines: the record and what each command printed."""
    outputs = []
    for i in (1, 3):
        outputs.append(ok("trustee", "decrypt", closed_board, "--state", ceremony / f"trustee-{i}.state",
                          "--out", ceremony / f"partial-{i}.json").output)  # fmt: skip
    outputs.append(ok("trustee", "combine", closed_board, ceremony / "partial-1.json", ceremony / "partial-3.json",
                      "--out", ceremony / "record.jsonl").output)  # fmt: skip
    return ceremony / "record.jsonl", outputs


def test_k_trustees_decrypt_and_anyone_verifies_the_record(decrypted: tuple[Path, list[str]]) -> None:
    path, (first, second, combined) = decrypted
    assert "ok  board: 5 entries" in first and "ok  board: 5 entries" in second
    assert "1  north" in combined and "2  south" in combined  # v1's re-vote counts
    head = verify.verify_file(path).head
    code = ballot.short_code(json.loads(path.read_bytes().splitlines()[1])["tracking"])
    result = ok("verify", path, "--head", head, "--code", code, "--jobs", "2")
    assert f"tracking code {code} is on the board: superseded" in result.output
    assert result.output.rstrip().endswith("every check holds")


def test_verify_names_what_does_not_hold_and_exits_non_zero(decrypted: tuple[Path, list[str]], tmp_path: Path) -> None:
    """SEC-09 through the command: a changed count in the downloaded file."""
    path, _outputs = decrypted
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text(path.read_text().replace('"counts":[1,2]', '"counts":[2,1]'))
    result = run("verify", tampered)
    assert result.exit_code == 1
    assert "FAILED  the published count for option 0 (north)" in result.output
    missing = run("verify", path, "--code", "AAAA-AAAA-AAAA-AAAA")
    assert missing.exit_code == 1 and "is not on the board" in missing.output


def test_a_trustee_refuses_to_decrypt_a_board_that_does_not_hold(
    ceremony: Path, closed_board: Path, tmp_path: Path
) -> None:
    """SEC-05: the trustee decrypts only the aggregate of a board it verified, never a smuggled ballot."""
    lines = closed_board.read_bytes().splitlines(keepends=True)
    short = tmp_path / "short.jsonl"
    short.write_bytes(b"".join([lines[0], *lines[2:]]))
    result = run("trustee", "decrypt", short, "--state", ceremony / "trustee-2.state", "--out", tmp_path / "p.json")
    assert result.exit_code != 0 and "the board does not hold" in result.output
    assert not (tmp_path / "p.json").exists()
    assert board.COUNTED in closed_board.read_text()


def test_files_of_the_wrong_round_or_poll_are_refused_with_one_line(ceremony: Path, tmp_path: Path) -> None:
    result = run("trustee", "keygen", "deliver", ceremony / "ceremony.json", ceremony / "confirm-1.json",
                 "--state", ceremony / "trustee-1.state", "--out", tmp_path / "x.json")  # fmt: skip
    assert result.exit_code == 1 and "expected a file of the round 'announce'" in result.output
    assert "Traceback" not in result.output
    again = run("trustee", "keygen", "announce", ceremony / "ceremony.json", "--me", "1",
                "--state", ceremony / "trustee-1.state", "--out", tmp_path / "y.json")  # fmt: skip
    assert again.exit_code == 1 and "exists" in again.output


def test_a_damaged_state_file_is_named_not_crashed_on(closed_board: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.state"
    damaged.write_text('{"format":"tinget/trustee-state/v1"}\n')
    os.chmod(damaged, 0o600)
    result = run("trustee", "decrypt", closed_board, "--state", damaged, "--out", tmp_path / "p.json")
    assert result.exit_code == 1 and "damaged" in result.output


def test_tinget_help_lists_the_trustee_and_verify_commands() -> None:
    output = ok("--help").output
    assert "trustee" in output and "verify" in output


def test_a_board_on_which_no_ballot_counts_is_combined_without_trustees(ceremony: Path, tmp_path: Path) -> None:
    """D66: nobody decrypts the empty aggregate; `combine` with no partials writes a record that verifies."""
    key = ElectionKey.from_json(json.loads((ceremony / "key.json").read_text()))
    from tests.support.elections import Election

    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"".join(record.board_lines(RULES, key, cast_all(Election(RULES, key, {}), [], seeded("e"), 1))))
    refused = run("trustee", "decrypt", empty, "--state", ceremony / "trustee-1.state", "--out", tmp_path / "p.json")
    assert refused.exit_code == 1 and "nothing to decrypt" in refused.output
    ok("trustee", "combine", empty, "--out", tmp_path / "record.jsonl")
    verified = ok("verify", tmp_path / "record.jsonl")
    assert "0 ballots counted" in verified.output and "nothing is decrypted" in verified.output
