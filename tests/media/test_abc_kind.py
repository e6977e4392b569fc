"""``--meter``, ``--key`` and ``--rhythm`` as a header primer, held to the model's corpus profile."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest

from tunesmith import media
from tunesmith.constraints import GrammarTables
from tunesmith.errors import TunesmithError
from tunesmith.media import SampleRequest
from tunesmith.media.abc_kind import kind_primer, known_keys, known_meters, known_rhythms
from tunesmith.metrics.abc_corpus import CorpusProfile, measure
from tunesmith.sampling import SampleSettings

TUNES = [
    "T:The Kesh\nR:jig\nM:6/8\nL:1/8\nK:G\n|:GAG GAB|ABA ABd|edd gdd|edB dBA:|\n",
    "T:Haste to the Wedding\nR:jig\nM:6/8\nL:1/8\nK:D\n|:AFA Agf|ede fdB|AFA dfa|gfe d3:|\n",
    "T:Out on the Ocean\nR:jig\nM:6/8\nL:1/8\nK:G\n|:DGG GAB|ded dBG|EAA ABd|edB dBA:|\n",
    "T:The Silver Spear\nR:reel\nM:C|\nL:1/8\nK:D\n|:FA (3AAA BAFA|dfed BddA|FA (3AAA BAFA|dBAF EDDE:|\n",
    "T:The Maid Behind the Bar\nR:Reel\nM:C|\nL:1/8\nK:D\n|:FAAB AFED|FAAB A2de|fBBA Bcde|fBBA BcdA:|\n",
    "T:The Butterfly\nR:slipjig\nM:9/8\nL:1/8\nK:Em\n|:B2E G2E F3|B2E G2E FED|B2E G2E F3|B2d d2B AFD:|\n",
    "T:The Foxhunter's\nR:slipjig\nM:9/8\nL:1/8\nK:G\n|:D2G GBG d2B|D2G GBG AGE|D2G GBG d2B|cAF DEF GAB:|\n",
    "T:Drops of Brandy\nR:slip jig\nM:9/8\nL:1/8\nK:G\n|:B2G G2G GBd|c2A A2A ABc|B2G G2G GBd|cBA AGF G3:|\n",
    "T:The Harvest Home\nR:hornpipe\nM:C\nL:1/8\nK:D\n|:AF|DAFA DAFA|defe dcBA|eAfA gAfA|eAfA edcB:|\n",
    "T:Si Bheag Si Mhor\nR:waltz\nM:3/4\nL:1/8\nK:A\n|:de|f3 e d2|d3 B A2|B3 A F2|A4 de:|\n",
    "T:Morrison's\nR:jig\nM:6/8\nL:1/8\nK:E dorian\n|:E2B B2A|BcB BAF|ABc dcd|efe dcB:|\n",
    "T:Cooley's\nR:reel\nM:C|\nL:1/8\nK:Ador\n|:EBBA B2EB|B2AB dBAG|FDAD BDAD|FDAD dAFD:|\n",
    "T:Ein Tanzlied\nR:Tanz - Lied\nM:2/4\nK:G\n|:G2 AB|c2 B2|A2 GF|G4:|\n",
]
CHARS = sorted({chr(i) for i in range(32, 127)} | {"\n"})


@pytest.fixture(scope="module")
def profile() -> CorpusProfile:
    return measure(TUNES)


@pytest.fixture(scope="module")
def grammar(profile: CorpusProfile) -> GrammarTables:
    """The ``--constrain`` grammar held to this corpus: every primer built here must walk it."""
    return GrammarTables(CHARS, profile=profile)


@pytest.mark.parametrize(
    ("asked", "primer"),
    [
        ({"meter": "6/8", "key": "G", "rhythm": "jig"}, "R:jig\nM:6/8\nL:1/8\nK:G\n"),
        ({"rhythm": "jig"}, "R:jig\n"),  # the model writes the rest of the header
        ({"meter": "9/8"}, "M:9/8\n"),
        ({"rhythm": "reel", "meter": "C|"}, "R:reel\nM:C|\n"),
        ({"key": "D"}, "M:6/8\nL:1/8\nK:D\n"),  # K: ends the header: the corpus's commonest meter before it
        ({"rhythm": "reel", "key": "Ador"}, "R:reel\nM:C|\nL:1/8\nK:Ador\n"),  # the rhythm's usual meter
        ({"rhythm": "slip jig", "key": "Em"}, "R:slipjig\nM:9/8\nL:1/8\nK:Em\n"),  # the commoner spelling
        ({"rhythm": "hornpipe", "key": "D"}, "R:hornpipe\nM:C\nL:1/8\nK:D\n"),  # 4/4 written C, as the corpus does
        ({"rhythm": "waltz", "key": "A"}, "R:waltz\nM:3/4\nL:1/8\nK:A\n"),
        ({"rhythm": "Lied", "key": "G"}, "R:Lied\nM:6/8\nL:1/8\nK:G\n"),  # any word of its R: lines
        ({"meter": "2/4", "key": "G"}, "M:2/4\nL:1/8\nK:G\n"),
    ],
)
def test_the_primer_asks_for_the_kind_in_the_corpus_spelling_and_walks_the_grammar(
    profile: CorpusProfile, grammar: GrammarTables, asked: dict[str, str], primer: str
) -> None:
    assert kind_primer(profile, **asked) == primer
    grammar.walk(primer)  # raises TunesmithError if --constrain could not take it


@pytest.mark.parametrize(
    ("typed", "written"),
    [("G", "G"), ("Gmaj", "G"), ("G major", "G"), ("g", "G"), ("E dorian", "Edor"), ("Edor", "Edor"), ("em", "Em")],
)
def test_keys_are_read_as_musicians_type_them(profile: CorpusProfile, typed: str, written: str) -> None:
    assert kind_primer(profile, key=typed).endswith(f"K:{written}\n")


@pytest.mark.parametrize(
    ("typed", "written"),
    [("slip jig", "slipjig"), ("Slip-Jig", "slipjig"), ("slipjig", "slipjig"), ("REEL", "reel"), ("Reel", "reel")],
)
def test_rhythms_take_the_corpus_commonest_spelling(profile: CorpusProfile, typed: str, written: str) -> None:
    assert kind_primer(profile, rhythm=typed) == f"R:{written}\n"


def test_a_meter_the_corpus_writes_otherwise_is_taken_in_its_spelling(profile: CorpusProfile) -> None:
    assert kind_primer(profile, meter="2/2") == "M:C|\n"
    assert kind_primer(profile, meter="4/4") == "M:C\n"


def test_known_values_are_listed_commonest_first(profile: CorpusProfile) -> None:
    assert known_meters(profile) == ["6/8", "C|", "9/8", "C", "3/4", "2/4"]
    assert known_keys(profile)[:2] == ["G", "D"]
    assert known_rhythms(profile) == ["jig", "reel", "slip jig", "hornpipe", "waltz"]


@pytest.mark.parametrize(
    ("asked", "fragments"),
    [
        ({"rhythm": "polka"}, ["--rhythm 'polka'", "known: jig, reel, slip jig, hornpipe, waltz", "Lied"]),
        ({"rhythm": "jgi"}, ["did you mean jig?", "known: jig, reel"]),
        ({"key": "Bb"}, ["--key 'Bb'", "known: G, D, "]),
        ({"key": "G dorian"}, ["--key 'G dorian'", "did you mean Edor or Ador?"]),
        ({"key": "H#x"}, ["--key 'H#x' is not a key", "known: G, D, "]),
        ({"meter": "7/8", "key": "G"}, ["--meter '7/8'", "known: 6/8, C|, 9/8, C, 3/4, 2/4"]),
        ({"rhythm": "hornpipe", "meter": "6/8"}, ["hornpipe", "2/4, 4/4 or C"]),
    ],
)
def test_unknown_values_are_refused_listing_the_known_ones(
    profile: CorpusProfile, asked: dict[str, str], fragments: list[str]
) -> None:
    with pytest.raises(TunesmithError) as caught:
        kind_primer(profile, **asked)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_a_long_list_is_cut_to_the_commonest(profile: CorpusProfile) -> None:
    tonics = ["C", "D", "E", "F", "G", "A", "B", "Bb", "Eb", "Ab", "F#", "C#", "Db"]
    keys = {k: 100 - i for i, k in enumerate(tonics + [t + "m" for t in tonics])}
    with pytest.raises(TunesmithError) as caught:
        kind_primer(replace(profile, keys=keys), key="Hp")
    shown, more = str(caught.value).split("known: ")[1].split(" and ")
    assert shown.split(", ") == known_keys(replace(profile, keys=keys))[:20]
    assert shown.startswith("C, D, E, F, G") and more == f"{len(known_keys(replace(profile, keys=keys))) - 20} more"


def test_a_corpus_without_rhythms_refuses_one(profile: CorpusProfile) -> None:
    without = replace(profile, values={"L": ["1/8"]})
    with pytest.raises(TunesmithError, match="no R: .* lines"):
        kind_primer(without, rhythm="jig")
    assert kind_primer(without, meter="6/8") == "M:6/8\n"


def test_no_unit_is_written_where_most_tunes_give_none(profile: CorpusProfile) -> None:
    few = replace(profile, fields={**profile.fields, "L": replace(profile.fields["L"], tunes=2)})
    assert kind_primer(few, key="G", meter="6/8") == "M:6/8\nK:G\n"
    odd = replace(profile, values={**profile.values, "L": ["1/0", "3/8", "1/8"]})  # a stranger's corpus.json
    assert kind_primer(odd, key="G", meter="6/8") == "M:6/8\nL:1/8\nK:G\n"


def test_a_model_without_a_profile_is_held_to_what_abc_reads() -> None:
    assert kind_primer(None, rhythm="polka", key="D") == "R:polka\nM:2/4\nL:1/8\nK:D\n"
    assert kind_primer(None, rhythm="slip jig", key="E minor") == "R:slip jig\nM:9/8\nL:1/8\nK:Em\n"
    assert kind_primer(None, meter="7/8") == "M:7/8\n"
    with pytest.raises(TunesmithError, match="not a key ABC reads"):
        kind_primer(None, key="Q")
    with pytest.raises(TunesmithError, match="not a rhythm tunesmith knows.*jig, reel, hornpipe"):
        kind_primer(None, rhythm="Lied")


@pytest.mark.parametrize("name", ["midi-remi", "pianoroll", "audio-mulaw"])
def test_other_media_refuse_the_options(name: str) -> None:
    loaded = SimpleNamespace(representation=SimpleNamespace(name=name))
    request = SampleRequest(model="RUN", rhythm="jig", key="G")
    with pytest.raises(TunesmithError, match=f"--key, --rhythm are for ABC models; RUN writes {name}"):
        media.of(name).kind_primer(loaded, SampleSettings(), request)
