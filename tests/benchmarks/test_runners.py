from __future__ import annotations

from benchmarks.runners import BenchResult, Timed, time_in_turns


def recording_row(name: str, calls: list[str]) -> Timed:
    def step() -> dict[str, float]:
        calls.append(name)
        return {"inference": float(len(calls))}

    def finish(stages: dict[str, list[float]]) -> BenchResult:
        return BenchResult(name, name, (480, 640), 2, "CPU", "fp32", None, 0, stages)

    return Timed(step, finish, lambda: calls.append(f"{name}:turn"))


def test_rows_are_warmed_up_then_timed_in_turns_each_after_its_own_setup() -> None:
    calls: list[str] = []
    rows = [recording_row("a", calls), recording_row("b", calls)]
    results = time_in_turns(rows, warmup=2, iterations=7)
    per_turn = [2, 2, 1, 1, 1]  # 7 timed runs in min(TURNS, 7) = 5 turns
    expected = ["a:turn", "a", "a", "b:turn", "b", "b"]  # the warm-up
    for count in per_turn:
        expected += ["a:turn"] + ["a"] * count + ["b:turn"] + ["b"] * count
    assert calls == expected
    assert [result.backend for result in results] == ["a", "b"]
    assert all(len(result.stages_ms["end_to_end"]) == 7 for result in results)
    assert all(len(result.stages_ms["inference"]) == 7 for result in results)


def test_one_row_runs_as_one_block_without_pauses() -> None:
    calls: list[str] = []
    [result] = time_in_turns([recording_row("only", calls)], warmup=1, iterations=4)
    assert calls == ["only:turn", "only", "only", "only", "only", "only"]
    assert len(result.stages_ms["end_to_end"]) == 4
