"""One interface over transformers models and the reference modules, and the greedy/cache check.

A runner has full(ids) -> logits [T, vocab] computed from scratch, new_cache(), and
step(ids, cache) -> logits [T, vocab] for ids appended after what the cache holds.
"""

import torch

F64 = torch.float64
OWN_TOL = 1e-10  # cache vs recompute, reference modules: float64 throughout
HF_TOL = 1e-5  # transformers rounds RMSNorm inputs and RoPE tables to float32 even in a float64 model


class HFRunner:
    def __init__(self, model):
        self.model = model

    @torch.no_grad()
    def full(self, ids: list[int]) -> torch.Tensor:
        out = self.model(input_ids=torch.tensor([ids], device=self.model.device), use_cache=False)
        return out.logits[0].to("cpu", F64)

    def new_cache(self) -> dict:
        return {"pkv": None}

    @torch.no_grad()
    def step(self, ids: list[int], cache: dict) -> torch.Tensor:
        out = self.model(
            input_ids=torch.tensor([ids], device=self.model.device), past_key_values=cache["pkv"], use_cache=True
        )
        cache["pkv"] = out.past_key_values
        return out.logits[0].to("cpu", F64)


class RefRunner:
    """full() recomputes without a cache (full_kwargs pick the expanded form where one exists);
    step() runs the variant's own cache."""

    def __init__(self, ref, full_kwargs: dict | None = None):
        self.ref = ref
        self.full_kwargs = full_kwargs or {}

    @torch.no_grad()
    def full(self, ids: list[int]) -> torch.Tensor:
        return self.ref.forward(ids, self.ref.new_cache(), **self.full_kwargs)

    def new_cache(self):
        return self.ref.new_cache()

    @torch.no_grad()
    def step(self, ids: list[int], cache) -> torch.Tensor:
        return self.ref.forward(ids, cache)


def max_abs(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.to(F64) - b.to(F64)).abs().max())


def greedy(runner, prompt: list[int], steps: int, tol: float) -> dict:
    """Prefill + greedy decode through the cache, asserted equal to full recompute."""
    prompt_logits = runner.full(prompt)  # [P, vocab]
    cache = runner.new_cache()
    prefill = runner.step(prompt, cache)
    prefill_diff = max_abs(prefill, prompt_logits)
    assert prefill_diff < tol, f"cached prefill differs from full recompute by {prefill_diff}"
    logits = prefill[-1]
    ids: list[int] = []
    step_logits: list[torch.Tensor] = []
    for i in range(steps):
        step_logits.append(logits)
        ids.append(int(torch.argmax(logits)))
        if i < steps - 1:
            logits = runner.step([ids[-1]], cache)[-1]
    steps_t = torch.stack(step_logits)  # [steps, vocab]
    # the logits that produced greedy id i sit at position P-1+i of the full sequence
    full = runner.full(prompt + ids[:-1])
    decode_diff = max_abs(full[len(prompt) - 1 :], steps_t)
    assert decode_diff < tol, f"cached decode differs from full recompute by {decode_diff}"
    top2 = torch.topk(steps_t, 2, dim=-1).values
    return {
        "prompt_logits": prompt_logits,
        "greedy_ids": ids,
        "step_logits": steps_t,
        "full_logits": full,  # [P-1+steps, vocab], for cross-checks
        "cache": cache,
        "step_top2_margin": (top2[:, 0] - top2[:, 1]).tolist(),
        "cache_vs_full_max_abs": max(prefill_diff, decode_diff),
    }
