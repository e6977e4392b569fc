"""A tune after it is made, through the JSON API: the menus a model offers, names no two tunes share, an edited
tune checked and rendered again, playback's tempo and instrument, and a PDF of the score to print."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import soundfile
from fastapi.testclient import TestClient

from tests.web.test_web_api import VALID, generate, model_id, open_studio
from tunesmith.media import StudioPiece
from tunesmith.web.store import ResultStore

JIG = "X:1\nT:Edited\nM:6/8\nL:1/8\nK:G\nD|GAB cde|dBG AGF|GAB c2d|e3 d2D|\nGAB cde|dBG AGF|GEF GAB|G3 G2:|\n"
LONG_BAR = JIG.replace("AGF|", "AGFG|", 1)  # bar 3: seven eighths


def first_result(client: TestClient, **settings: Any) -> dict[str, Any]:
    job = generate(client, **{**VALID, "num": 1, **settings})
    assert job["state"] == "done", job["error"]
    return job["results"][0]


def test_the_menus_hold_the_models_own_meters_keys_and_rhythms(client: TestClient) -> None:
    kinds = client.get(f"/api/models/{model_id(client)}/kinds").json()
    # the debug model's corpus (tests/fixtures' folk tunes): 3/4 and G commonest, and no R: lines to name rhythms
    assert kinds["abc"] is True and kinds["meters"][:3] == ["3/4", "C", "6/8"] and kinds["keys"][0] == "G"
    assert kinds["rhythms"] == []
    assert client.get("/api/models/0123456789ab/kinds").status_code == 404
    assert client.get("/api/models/..%2Fetc/kinds").status_code in (404, 422)


def test_an_edited_tune_is_checked_and_rendered_again_with_its_wrong_bars_in_words(client: TestClient) -> None:
    result = first_result(client)
    rid = result["id"]
    edited = client.post(f"/api/results/{rid}/render", json={"text": LONG_BAR}).json()
    assert edited["id"] == rid and edited["edits"] == 1 and edited["text"] == LONG_BAR
    assert edited["valid"] is False and edited["title"] == "Edited"
    [bar] = edited["wrong_bars"]
    assert bar["number"] == 3 and bar["words"].startswith("bar 3 has 7 eighths") and "6/8" in bar["words"]
    assert edited["marked"] is True  # the bar is marked on the score itself
    svg = client.get(f"/api/results/{rid}/files/tune.svg").text
    assert svg.count("wrong-bar") >= 1 and "bar 3 has 7 eighths" in svg
    assert [c["label"] for c in edited["checks"]] == ["valid ABC", "header", "converts", "bars", "like its corpus"]

    fixed = client.post(f"/api/results/{rid}/render", json={"text": JIG}).json()
    assert fixed["valid"] is True and fixed["wrong_bars"] == [] and fixed["edits"] == 2
    assert "wrong-bar" not in client.get(f"/api/results/{rid}/files/tune.svg").text
    assert client.get(f"/api/results/{rid}").json()["text"] == JIG  # the record holds the edit


def test_a_bad_edit_is_refused_at_the_field(client: TestClient) -> None:
    rid = first_result(client)["id"]
    for body, field, words in (
        ({"text": "GABc|"}, "text", "K: line"),
        ({"text": "X:1\nK:G\nG\x00"}, "text", "control character"),
        ({"text": "X:1\nK:G\n" + "G" * 8_001}, "text", "at most 8000"),
        ({"text": JIG, "tempo": 1000}, "tempo", "40 to 300"),
        ({"text": JIG, "instrument": "kazoo"}, "instrument", "kazoo"),
    ):
        reply = client.post(f"/api/results/{rid}/render", json=body)
        assert reply.status_code == 422 and words in reply.json()["fields"][field], reply.text
    assert client.post(f"/api/results/{'0' * 32}/render", json={"text": JIG}).status_code == 404
    assert "edits" not in client.get(f"/api/results/{rid}").json()  # nothing refused was rendered


def test_tempo_and_instrument_change_the_sound(client: TestClient) -> None:
    rid = first_result(client)["id"]
    seconds = {}
    for tempo in (60, 120):
        client.post(f"/api/results/{rid}/render", json={"text": JIG, "tempo": tempo, "instrument": "fiddle"})
        wav = client.get(f"/api/results/{rid}/files/tune.wav").content
        path = Path(client.app.state.store.folder) / rid / "tune.wav"  # type: ignore[attr-defined]
        assert path.read_bytes() == wav
        seconds[tempo] = soundfile.info(str(path)).duration
    # the music of the jig lasts twice as long at half the tempo (each render adds the same second of release)
    assert 1.7 < (seconds[60] - 1) / (seconds[120] - 1) < 2.3, seconds
    generated = generate(client, **{**VALID, "num": 1, "tempo": 90, "instrument": "flute"})
    assert generated["results"][0]["settings"]["instrument"] == "flute"


def test_the_score_prints_as_an_a4_pdf(client: TestClient) -> None:
    rid = first_result(client)["id"]
    reply = client.get(f"/api/results/{rid}/pdf")
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/pdf"
    assert reply.content[:5] == b"%PDF-" and b"/MediaBox [ 0 0 595" in reply.content
    assert "attachment" in reply.headers["content-disposition"]
    assert client.get(f"/api/results/{'0' * 32}/pdf").status_code == 404


def test_no_two_results_share_a_name(tmp_path: Path) -> None:
    """Untitled tunes are numbered over the whole store; a title already taken gets "(2)", across restarts."""
    store = ResultStore(tmp_path)

    def piece(title: str) -> StudioPiece:
        folder = store.new_folder()
        (folder / "tune.abc").write_text("X:1\nK:G\nG|\n")
        return StudioPiece(folder=folder, number=1, title=title, text="X:1\nK:G\nG|\n", files=[("abc", "tune.abc")])

    about = {"job": "j", "model": {"id": "m", "name": "m"}, "settings": {}}
    names = [store.save(piece(t), about)["title"] for t in ("", "", "The Kid", "The Kid", "")]
    assert names == ["Tune 1", "Tune 2", "The Kid", "The Kid (2)", "Tune 5"]
    kept = store.save(piece(""), about)
    store.set_kept(kept["id"], True)
    again = ResultStore(tmp_path)  # a restart: the kept tune's name stays taken
    assert again.save(piece(kept["title"]), about)["title"] == f"{kept['title']} (2)"


def test_a_studio_without_kept_tunes_starts_numbering_at_one(models: Path, tmp_path: Path) -> None:
    with open_studio(models, tmp_path / "store") as client:
        titles = [r["title"] for r in generate(client, **{**VALID, "num": 2})["results"]]
    assert titles == ["Tune 1", "Tune 2"]
