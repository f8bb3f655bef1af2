"""io/sample_files: the JSON readers every stage's records and markers go through."""

from __future__ import annotations

import pytest

from jetpointnet.errors import UserError
from jetpointnet.io.sample_files import read_json_object, write_json


def test_a_json_object_reads_back(tmp_path) -> None:
    path = write_json(tmp_path / "record.json", {"a": 1, "b": [1.5, None]})
    assert read_json_object(path) == {"a": 1, "b": [1.5, None]}


@pytest.mark.parametrize(
    ("text", "why"), [("[1, 2]", "not a JSON object"), ("{oops", "not valid JSON")]
)
def test_anything_else_is_one_line_naming_the_file(tmp_path, text: str, why: str) -> None:
    path = tmp_path / "marker.json"
    path.write_text(text)
    with pytest.raises(UserError, match=why) as err:
        read_json_object(path)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)
