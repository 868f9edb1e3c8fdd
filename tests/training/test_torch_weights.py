"""Reading .pth weights without torch must never run code a crafted file carries."""

from __future__ import annotations

import pickle

import pytest

from training.torch_weights import _LEGACY_MAGIC, load_state_dict


class RunsCode:
    """Unpickling this calls a function: what an attacker's weights file would do."""

    def __reduce__(self):
        return (print, ("this must never be printed",))


def crafted_file(tmp_path, records: list) -> str:
    path = tmp_path / "weights.pth"
    with open(path, "wb") as f:
        for record in records:
            pickle.dump(record, f, protocol=2)
    return path


@pytest.mark.parametrize("position", range(5))
def test_a_record_that_calls_a_function_is_refused_wherever_it_stands(tmp_path, position, capsys):
    records = [_LEGACY_MAGIC, 1001, {"little_endian": True}, {}, []]
    records[position] = RunsCode()
    with pytest.raises((pickle.UnpicklingError, ValueError)):
        load_state_dict(crafted_file(tmp_path, records))
    assert "never be printed" not in capsys.readouterr().out


def test_a_file_that_is_not_a_legacy_checkpoint_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a legacy torch.save file"):
        load_state_dict(crafted_file(tmp_path, [12345]))


def test_an_empty_state_dict_reads_as_empty(tmp_path):
    assert load_state_dict(crafted_file(tmp_path, [_LEGACY_MAGIC, 1001, {"little_endian": True}, {}, []])) == {}
