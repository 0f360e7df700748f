"""A recording's file: a plain name inside the cassettes directory, and vcrpy's record modes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oa_mockserver._exceptions import ConfigError
from oa_mockserver.recording import (
    Cassette,
    Interaction,
    RecordedRequest,
    RecordedResponse,
    save_cassette,
)
from oa_mockserver.recording._cassette import cassette_file, recording_base
from oa_mockserver.recording._proxy import CassetteRecorder

DIRECTORY = Path("/srv/cassettes")


@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("./\\:"), max_size=12))
def test_an_accepted_name_never_leaves_the_directory(name: str) -> None:
    try:
        path = cassette_file(DIRECTORY, name)
    except ConfigError:
        return  # refused: nothing is written (the message is checked below)
    assert path.parent == DIRECTORY
    assert path.name in (name, name + ".yaml")
    assert name not in ("", ".", "..")
    assert not {"/", "\\", ":"} & set(name)


@pytest.mark.parametrize("name", ["../../escape", "..", "a/b", "/abs", "", "C:x", "a\\b", "\t"])
def test_names_with_a_path_in_them_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="must be a plain file name"):
        cassette_file(DIRECTORY, name)


def _one(uri: str) -> Interaction:
    return Interaction(
        request=RecordedRequest(method="GET", uri=uri, body=b"", headers=()),
        response=RecordedResponse(status=200, reason="OK", headers=(), body=b"{}", chunks=()),
    )


def test_record_modes_on_an_existing_cassette(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    assert recording_base(path, "once") is None  # nothing there yet: record
    save_cassette(path, Cassette(interactions=(_one("http://u/1"), _one("http://u/2"))))
    with pytest.raises(ConfigError, match="already exists"):
        recording_base(path, "once")
    assert recording_base(path, "all") is None
    base = recording_base(path, "new_episodes")
    assert base is not None
    assert len(base.interactions) == 2
    with pytest.raises(ConfigError, match="record mode must be one of"):
        recording_base(path, "none")


def test_new_episodes_keeps_the_old_interactions_and_their_breaks(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(
        path,
        Cassette(
            interactions=(_one("http://u/1"), _one("http://u/2")),
            metadata={"disconnected": "1"},
        ),
    )
    recorder = CassetteRecorder(path, base=recording_base(path, "new_episodes"))
    recorder.add(_one("http://u/3").request, _one("http://u/3").response, broken=True)
    saved = recording_base(path, "new_episodes")
    assert saved is not None
    assert [i.request.uri for i in saved.interactions] == ["http://u/1", "http://u/2", "http://u/3"]
    assert saved.metadata["disconnected"] == "1,2"
