"""train.amp: bf16 autocast only where the device computes bf16 natively (emulated bf16 made a
CPU training step 20x slower on an AVX2-only machine)."""

from sclc.spec import load_spec
from sclc.train import amp
from sclc.train.runner import build_runner

from conftest import TINY_SPEC, write

FLAGS = "processor\t: 0\nflags\t\t: fpu sse2 avx avx2 {extra}\n"


def test_cpu_bf16_is_read_from_the_cpu_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text(FLAGS.format(extra=""))
    assert not amp.cpu_has_native_bf16(info)
    info.write_text(FLAGS.format(extra="avx512f avx512_bf16"))
    assert amp.cpu_has_native_bf16(info)
    info.write_text(FLAGS.format(extra="amx_bf16"))
    assert amp.cpu_has_native_bf16(info)
    assert not amp.cpu_has_native_bf16(tmp_path / "missing")


def test_auto_picks_bf16_only_where_native_and_explicit_bf16_warns(monkeypatch):
    monkeypatch.setattr(amp, "cpu_has_native_bf16", lambda: False)
    assert amp.resolve_amp("auto", "cpu")[0] == "off"
    mode, note = amp.resolve_amp("bf16", "cpu")
    assert mode == "bf16" and note.startswith("WARNING") and "emulated" in note
    assert amp.resolve_amp("off", "cpu") == ("off", None)
    monkeypatch.setattr(amp, "cpu_has_native_bf16", lambda: True)
    assert amp.resolve_amp("auto", "cpu")[0] == "bf16"
    assert amp.resolve_amp("bf16", "cpu") == ("bf16", None)


def test_the_runner_trains_with_the_resolved_autocast(tmp_path, monkeypatch, capsys):
    spec_file = write(tmp_path, TINY_SPEC.format(name="amp", seed=0) + '[train]\ncrop = 64\ndevice = "cpu"\namp = "auto"\n')
    for native, expected in ((False, "off"), (True, "bf16")):
        monkeypatch.setattr(amp, "cpu_has_native_bf16", lambda native=native: native)
        runner = build_runner(load_spec(spec_file), tmp_path / expected)
        assert runner.model.amp == expected
        assert f"train.amp = auto: {'bf16' if native else 'float32'} on cpu" in capsys.readouterr().out
