#!/usr/bin/env bash
# verl GRPO with prmkit's rewards: the label-free Format-Length surrogate, optionally plus a PRM
# served by `prmkit serve`. prmkit does not rebuild distributed RL; verl (github.com/volcengine/verl)
# runs the multi-GPU / multi-node training and calls prmkit.rl.verl for the rewards.
#
# Recipe: Format-Length (Xin et al., arXiv 2505.19439; ALGORITHMS.md section 4.4 and the released
# run_grpo_math_7b.sh): GRPO, lr 1e-6, 128 prompts x 8 responses per step with one update per batch
# (on-policy), rollout temperature 0.6, responses up to 3072 tokens (prompts 1024), low-variance KL
# loss 0.001, 100 steps, Qwen2.5-Math-7B base, MATH train (7,500 problems).
#
# Resources and cost (estimates, not measured by prmkit):
# - policy: one node with 8 x 80 GB GPUs (A100 or H100), as in the paper: FSDP actor and reference,
#   vLLM rollout with tensor parallel 2. Each step samples 1,024 responses of up to 3,072 tokens (up to
#   ~3M generated tokens) and trains on them; expect a few minutes per step on 8 H100s, so 100 steps
#   take roughly 5-10 hours, i.e. 40-80 GPU-hours. Qwen2.5-Math-1.5B fits on 4 GPUs for about a
#   quarter of that. Set NGPUS / TP / the batch sizes below to match your machine.
# - rewards: format and length run on the trainer's CPUs (prmkit's grading pool; about 1 ms per
#   response); correctness (here logged with weight 0, for monitoring only) is the same cost.
# - optional PRM: `prmkit serve` on one more GPU (a 7B PRM in bf16 needs ~16 GB; the tiny synthetic
#   PRMs run on CPU). Scoring 1,024 responses of ~20 steps is one forward pass per batch of 32, a few
#   seconds per step on one GPU; the batch reward manager sends them in requests of 32.
#
# Setup (once):
#   pip install "prmkit[server]" verl vllm        # follow verl's install guide for its torch/vLLM pins
#   # 1. data: Problem JSONL (e.g. `prmkit data convert ... --to jsonl`) -> verl parquet, Qwen-Math template
#   python - <<'EOF'
#   import datasets
#   from prmkit.data.jsonl import read_records
#   from prmkit.data.records import Problem
#   from prmkit.rl.verl import verl_rows
#   system = "Please reason step by step, and put your final answer within \\boxed{}."
#   for split in ("train", "test"):
#       rows = verl_rows(read_records(f"data/math_{split}.jsonl", Problem), system=system, data_source="math")
#       datasets.Dataset.from_list(rows).to_parquet(f"data/math_{split}.parquet")
#   EOF
#   # 2. optional PRM server on another GPU or host (any prmkit-loadable PRM folder):
#   #    PRMKIT_SERVER_TOKEN=... CUDA_VISIBLE_DEVICES=8 prmkit serve --prm runs/prm --host 0.0.0.0 --port 8000 &
#   #    then add ";prm_http:0.5,url=http://PRM_HOST:8000" to REWARDS (the token is read from
#   #    $PRMKIT_SERVER_TOKEN in the reward process, or pass ",token=..." in the spec).
#
# Rewards: prmkit.rl.verl.compute_score_batch, configured by custom_reward_function.reward_kwargs:
#   rewards    ';'-separated `prmkit rl --reward` specs: name[:weight][,key=value...]
#   tokenizer  the policy's tokenizer, to measure response length in tokens (Format-Length's L)
# Every reward is logged on its own next to the weighted total ("score").
#
# Config keys follow verl's ppo_trainer.yaml with top-level `custom_reward_function` and
# `reward_model.reward_manager`; newer verl releases moved them under `reward.` (for example
# `reward.custom_reward_function.path` and `reward.reward_manager.name`): rename them if hydra refuses.
set -euo pipefail

MODEL=${MODEL:-Qwen/Qwen2.5-Math-7B}
DATA=${DATA:-data}
NGPUS=${NGPUS:-8}
TP=${TP:-2}
MAX_RESPONSE=${MAX_RESPONSE:-3072}
# variant=code is the released implementation (0.5 * R_f + R_l); variant=paper is Eq. 5 (R_f + R_l)
REWARDS=${REWARDS:-"format_length:1,max_length=${MAX_RESPONSE},peak=0.5,variant=code;correctness:0"}
REWARD_FILE=$(python -c "import prmkit.rl.verl as m; print(m.__file__)")

python3 -m verl.trainer.main_ppo \
    algorithm.adv_estimator=grpo \
    algorithm.use_kl_in_reward=False \
    data.train_files="${DATA}/math_train.parquet" \
    data.val_files="${DATA}/math_test.parquet" \
    data.train_batch_size=128 \
    data.max_prompt_length=1024 \
    data.max_response_length="${MAX_RESPONSE}" \
    data.filter_overlong_prompts=True \
    actor_rollout_ref.model.path="${MODEL}" \
    actor_rollout_ref.model.use_remove_padding=True \
    actor_rollout_ref.model.enable_gradient_checkpointing=True \
    actor_rollout_ref.actor.optim.lr=1e-6 \
    actor_rollout_ref.actor.ppo_mini_batch_size=128 \
    actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4 \
    actor_rollout_ref.actor.use_kl_loss=True \
    actor_rollout_ref.actor.kl_loss_coef=0.001 \
    actor_rollout_ref.actor.kl_loss_type=low_var_kl \
    actor_rollout_ref.actor.entropy_coeff=0 \
    actor_rollout_ref.rollout.name=vllm \
    actor_rollout_ref.rollout.n=8 \
    actor_rollout_ref.rollout.temperature=0.6 \
    actor_rollout_ref.rollout.tensor_model_parallel_size="${TP}" \
    actor_rollout_ref.rollout.gpu_memory_utilization=0.6 \
    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=8 \
    actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=8 \
    actor_rollout_ref.ref.fsdp_config.param_offload=True \
    reward_model.reward_manager=batch \
    custom_reward_function.path="${REWARD_FILE}" \
    custom_reward_function.name=compute_score_batch \
    ++custom_reward_function.reward_kwargs.rewards="'${REWARDS}'" \
    ++custom_reward_function.reward_kwargs.tokenizer="'${MODEL}'" \
    trainer.critic_warmup=0 \
    trainer.logger="['console']" \
    trainer.project_name=prmkit_format_length \
    trainer.experiment_name="$(basename "${MODEL}")-format-length" \
    trainer.n_gpus_per_node="${NGPUS}" \
    trainer.nnodes=1 \
    trainer.total_training_steps=100 \
    trainer.save_freq=20 \
    trainer.test_freq=10 \
    "$@"
