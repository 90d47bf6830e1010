import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from service.datasets.convert import (
    ConvertRequest,
    convert_file,
    csv_to_chat,
    parse_template,
    prompt_completion_to_chat,
)
from service.errors import InvalidRequest, UnknownColumn
from tests.datagen import (
    LEVELS,
    SYSTEM,
    USER_TEMPLATE,
    prompt_completion_jsonl,
    reflections_csv,
)


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def chat(**body: Any) -> ConvertRequest:
    return ConvertRequest.model_validate({"user": "{Question}", "assistant": "{Final}", **body})


def test_template_escapes_and_names_with_spaces() -> None:
    template = parse_template("{{literal}} {Column Name With Spaces} and { Final }}}")
    assert template.fields == ("Column Name With Spaces", "Final")
    assert template.render({"Column Name With Spaces": "A", "Final": "4"}) == (
        "{literal} A and 4}")
    assert parse_template("no fields").render({}) == "no fields"


@pytest.mark.parametrize(("text", "words"), [
    ("{Question", "not closed"), ("Question}", "single '}'"), ("{}", "empty placeholder"),
    ("{a{b}", "not closed"), ("{a}}", "single '}'")])
def test_malformed_templates_are_refused(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_template(text)
    with pytest.raises(ValidationError) as caught:
        chat(user=text)
    assert caught.value.errors()[0]["loc"] == ("user",)


def test_classic_reflections_example(tmp_path: Path) -> None:
    data = reflections_csv(tmp_path / "reflections.csv", rows=200)
    request = ConvertRequest(name="reflections-chat", system=SYSTEM, user=USER_TEMPLATE,
                             assistant="{Final}", value_maps={"Final": LEVELS}, on_empty="skip")
    result = csv_to_chat(data.path, tmp_path / "chat.jsonl", request)
    assert result.converted == 200 - len(data.empty_answers)
    assert [s.row for s in result.skipped] == data.empty_answers
    assert {s.reason for s in result.skipped} == {"empty Answers"}
    assert result.skipped_count == len(data.empty_answers)
    examples = read_jsonl(tmp_path / "chat.jsonl")
    kept = [r for i, r in enumerate(data.records, 1) if i not in set(data.empty_answers)]
    assert len(examples) == len(kept)
    for example, record in zip(examples, kept, strict=True):
        assert example == {"messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f'Question: """{record["Question"].strip()}"""\n'
                                        f'Reflection: """{record["Answers"].strip()}"""'},
            {"role": "assistant", "content": LEVELS[record["Final"].strip()]}]}
    produced = Counter(example["messages"][-1]["content"] for example in examples)
    assert produced == {LEVELS[k]: n for k, n in data.finals_converted().items()}


def test_quotes_and_non_ascii_pass_through_json_escaped(tmp_path: Path) -> None:
    answer = 'He said "yes", then\nleft — café 漢字 🙂 \\ back\tslash'
    src = write_csv(tmp_path / "q.csv", [["Question", "Final"], [f"  {answer}  ", "1"]])
    csv_to_chat(src, tmp_path / "out.jsonl", chat())
    raw = (tmp_path / "out.jsonl").read_bytes()
    assert "café 漢字 🙂".encode() in raw
    assert b'\\"yes\\"' in raw
    assert b"\\n" in raw
    assert b"\\\\ back\\tslash" in raw
    assert raw.count(b"\n") == 1
    assert read_jsonl(tmp_path / "out.jsonl")[0]["messages"][0]["content"] == answer


def test_unknown_column_names_the_template_field_and_lists_columns(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "a.csv", [["Question", "Final"], ["q", "1"]])
    with pytest.raises(UnknownColumn) as caught:
        csv_to_chat(src, tmp_path / "out.jsonl", chat(user="{Question} {Answer}"))
    assert caught.value.code == "unknown_column"
    assert caught.value.errors[0]["field"] == "body.user"
    assert "'Answer'" in caught.value.detail
    assert "Question, Final" in caught.value.detail
    assert not (tmp_path / "out.jsonl").exists()


def test_format_specs_are_part_of_the_column_name(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "a.csv", [["Question", "Final", "x:>3"], ["q", "1", "v"]])
    with pytest.raises(UnknownColumn, match="format specs"):
        csv_to_chat(src, tmp_path / "out.jsonl", chat(assistant="{Final:>3}"))
    csv_to_chat(src, tmp_path / "out.jsonl", chat(assistant="{x:>3}"))
    assert read_jsonl(tmp_path / "out.jsonl")[0]["messages"][1]["content"] == "v"


def test_value_map_for_a_missing_column_is_an_unknown_column(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "a.csv", [["Question", "Final"], ["q", "1"]])
    with pytest.raises(UnknownColumn) as caught:
        csv_to_chat(src, tmp_path / "o.jsonl", chat(value_maps={"Level": {"1": "x"}}))
    assert caught.value.errors[0]["field"] == "body.value_maps.Level"


@pytest.mark.parametrize("on_empty", ["skip", "error"])
def test_unmapped_values_are_skipped_per_row_in_both_modes(tmp_path: Path, on_empty: str) -> None:
    src = write_csv(tmp_path / "a.csv", [
        ["Question", "Final"], ["q1", " 1 "], ["q2", "7"], ["q3", "2"]])
    request = chat(value_maps={"Final": {"1": "One", "2": "Two"}}, on_empty=on_empty)
    result = csv_to_chat(src, tmp_path / "o.jsonl", request)
    assert result.converted == 2
    assert [(s.row, s.reason) for s in result.skipped] == [
        (2, "no value_maps entry for Final='7'")]
    assert [e["messages"][1]["content"] for e in read_jsonl(tmp_path / "o.jsonl")] == [
        "One", "Two"]


def test_on_empty_skip_lists_rows_by_data_row_number(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "a.csv", [
        ["Question", "Answers", "Final"], ["q1", "a", "1"], ["q2", "  ", "2"],
        ["q3", "multi\nline", ""], ["", "", "4"]])
    result = csv_to_chat(src, tmp_path / "o.jsonl",
                         chat(user="{Question}: {Answers}", on_empty="skip"))
    assert [(s.row, s.reason) for s in result.skipped] == [
        (2, "empty Answers"), (3, "empty Final"), (4, "empty Question, Answers")]
    assert result.converted == 1


def test_on_empty_error_refuses_and_writes_nothing(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "a.csv", [
        ["Question", "Answers", "Final"], ["q1", "a", "1"], ["q2", "", "2"]])
    with pytest.raises(InvalidRequest) as caught:
        csv_to_chat(src, tmp_path / "o.jsonl", chat(user="{Answers}", on_empty="error"))
    assert "Row 2" in caught.value.detail
    assert "Answers" in caught.value.detail
    assert caught.value.errors == [{"field": "body.on_empty", "message": "row 2: Answers is empty"}]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_empty_columns_not_in_any_template_do_not_matter(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "a.csv", [["Question", "Notes", "Final"], ["q", "", "1"]])
    assert csv_to_chat(src, tmp_path / "o.jsonl", chat(on_empty="error")).converted == 1


def test_skipped_list_is_capped_but_counted(tmp_path: Path) -> None:
    rows = [["Question", "Final"]] + [["", "1"]] * 1500 + [["q", "1"]]
    src = write_csv(tmp_path / "a.csv", rows)
    result = csv_to_chat(src, tmp_path / "o.jsonl", chat())
    assert result.converted == 1
    assert len(result.skipped) == 1000
    assert result.skipped_count == 1500


def test_a_conversion_that_keeps_no_row_is_refused(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "a.csv", [["Question", "Final"], ["", "1"], ["q", ""]])
    with pytest.raises(InvalidRequest, match="No row could be converted"):
        csv_to_chat(src, tmp_path / "o.jsonl", chat())
    assert not (tmp_path / "o.jsonl").exists()


def test_a_failed_conversion_leaves_the_previous_output_alone(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "a.csv", [["Question", "Final"], ["q", "1"], ["q", ""]])
    (tmp_path / "o.jsonl").write_text("old\n")
    with pytest.raises(InvalidRequest):
        csv_to_chat(src, tmp_path / "o.jsonl", chat(on_empty="error"))
    assert (tmp_path / "o.jsonl").read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "o.jsonl"]


def test_prompt_completion_target_defaults(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "a.csv", [["Question", "Final"], ["Why?", "2"], ["How?", "3"]])
    request = ConvertRequest(target="prompt_completion", prompt="Q: {Question}",
                             completion="{Final}", value_maps={"Final": LEVELS})
    assert csv_to_chat(src, tmp_path / "pc.jsonl", request).converted == 2
    assert read_jsonl(tmp_path / "pc.jsonl") == [
        {"prompt": "Q: Why?\n\n###\n\n", "completion": " Understanding END"},
        {"prompt": "Q: How?\n\n###\n\n", "completion": " Simple Reflection END"}]


def test_prompt_completion_leading_space_is_not_doubled(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "a.csv", [["Question", "Final"], ["Why?", "2"]])
    request = ConvertRequest(target="prompt_completion", prompt="{Question}",
                             completion=" level {Final}", separator=" ->", stop="\n")
    csv_to_chat(src, tmp_path / "pc.jsonl", request)
    assert read_jsonl(tmp_path / "pc.jsonl") == [{"prompt": "Why? ->", "completion": " level 2\n"}]


@pytest.mark.parametrize(("separator", "stop"), [
    ("\n\n###\n\n", " END"), (" ->", "\n"), ("\n\n", "###"), ("", "")])
def test_prompt_completion_to_chat_strips_separator_stop_and_space(
        tmp_path: Path, separator: str, stop: str) -> None:
    data = prompt_completion_jsonl(tmp_path / "pc.jsonl", rows=40, separator=separator, stop=stop)
    result = prompt_completion_to_chat(data.path, tmp_path / "chat.jsonl")
    assert result.converted == 40
    assert result.skipped_count == 0
    assert [(e["messages"][0]["content"], e["messages"][1]["content"])
            for e in read_jsonl(tmp_path / "chat.jsonl")] == data.pairs
    assert all(len(e["messages"]) == 2 for e in read_jsonl(tmp_path / "chat.jsonl"))


def test_prompt_completion_to_chat_with_a_system_template_and_bad_lines(tmp_path: Path) -> None:
    src = tmp_path / "pc.jsonl"
    src.write_text('{"prompt": "a\\n\\n###\\n\\n", "completion": " WEEKEND END"}\n'
                   "not json\n\n"
                   '{"prompt": 3, "completion": " x END"}\n'
                   '{"prompt": "b {x}\\n\\n###\\n\\n", "completion": " y END"}\n')
    result = prompt_completion_to_chat(src, tmp_path / "chat.jsonl",
                                       "Classify. {{labels}} (answer for {prompt})")
    assert [(s.row, s.reason) for s in result.skipped] == [
        (2, "invalid JSON"), (4, "prompt and completion must both be strings")]
    assert read_jsonl(tmp_path / "chat.jsonl") == [
        {"messages": [{"role": "system", "content": "Classify. {labels} (answer for a)"},
                      {"role": "user", "content": "a"},
                      {"role": "assistant", "content": "WEEKEND"}]},
        {"messages": [{"role": "system", "content": "Classify. {labels} (answer for b {x})"},
                      {"role": "user", "content": "b {x}"},
                      {"role": "assistant", "content": "y"}]}]


def test_csv_to_prompt_completion_and_back_equals_csv_to_chat(tmp_path: Path) -> None:
    data = reflections_csv(tmp_path / "r.csv", rows=80)
    maps = {"Final": LEVELS}
    csv_to_chat(data.path, tmp_path / "pc.jsonl", ConvertRequest(
        target="prompt_completion", prompt=USER_TEMPLATE, completion="{Final}", value_maps=maps))
    prompt_completion_to_chat(tmp_path / "pc.jsonl", tmp_path / "back.jsonl", SYSTEM)
    csv_to_chat(data.path, tmp_path / "direct.jsonl", ConvertRequest(
        system=SYSTEM, user=USER_TEMPLATE, assistant="{Final}", value_maps=maps))
    assert read_jsonl(tmp_path / "back.jsonl") == read_jsonl(tmp_path / "direct.jsonl")


@pytest.mark.parametrize(("body", "words"), [
    ({"user": "{Q}"}, "needs both user and assistant"),
    ({"target": "prompt_completion", "prompt": "{Q}"}, "needs prompt and completion"),
    ({"target": "prompt_completion", "prompt": "{Q}", "completion": "{F}", "user": "{Q}"},
     "user does not apply"),
    ({"user": "{Q}", "assistant": "{F}", "stop": "\n"}, "stop does not apply"),
    ({"user": "{Q}", "assistant": "{F}", "tone": "x"}, "Extra inputs"),
    ({"user": "{Q}", "assistant": "{F}", "on_empty": "ignore"}, "on_empty"),
])
def test_convert_request_validation(body: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        ConvertRequest.model_validate(body)


def test_convert_request_defaults() -> None:
    request = ConvertRequest.model_validate({"user": "{Q}", "assistant": "{F}"})
    assert (request.target, request.on_empty, request.value_maps) == ("chat", "skip", {})
    assert ConvertRequest.model_validate({}).system is None  # prompt_completion → chat body


def test_convert_file_dispatches_and_refuses_what_does_not_apply(tmp_path: Path) -> None:
    data = prompt_completion_jsonl(tmp_path / "pc.jsonl", rows=5)
    result = convert_file(data.path, "prompt_completion", tmp_path / "c.jsonl",
                          ConvertRequest(system="Be brief."))
    assert result.converted == 5
    with pytest.raises(InvalidRequest) as caught:
        convert_file(data.path, "prompt_completion", tmp_path / "c.jsonl", chat())
    assert {e["field"] for e in caught.value.errors} == {"body.user", "body.assistant"}
    with pytest.raises(InvalidRequest, match="cannot be converted"):
        convert_file(data.path, "chat", tmp_path / "c.jsonl", ConvertRequest())
    with pytest.raises(InvalidRequest) as caught:
        convert_file(write_csv(tmp_path / "a.csv", [["Q"], ["q"]]), "csv", tmp_path / "c.jsonl",
                     ConvertRequest())
    assert {e["field"] for e in caught.value.errors} == {"body.user", "body.assistant"}
