"""The data-derived run length, epoch size and patience."""

import math

import numpy as np
import torch

from hashret import defaults
from hashret.training.loop import train


def steps_of_run(n, modality, bits=defaults.DEFAULT_BITS):
    per_epoch = math.ceil(defaults.epoch_items(n, modality) / defaults.BATCH_SIZE)
    return defaults.epochs_for(n, modality, bits=bits) * per_epoch


def test_a_run_takes_about_the_target_steps_at_any_corpus_size():
    for modality in ("text", "image"):
        target = defaults.TARGET_STEPS[modality]
        for n in (20_000, 60_000, 300_000, 1_000_000, 10_000_000):
            steps = steps_of_run(n, modality)
            if modality == "image":
                assert target * 0.8 <= steps <= target * 1.25, (modality, n)
            else:       # documents: enough for the minimum passes, up to the step cap
                want = max(target, min(defaults.MAX_TEXT_STEPS,
                                       defaults.MIN_TEXT_PASSES * math.ceil(n / 128)))
                assert want * 0.8 <= steps <= want * 1.25, (n, steps, want)
            assert defaults.epoch_items(n, modality) <= n


def test_documents_pass_over_the_corpus_a_minimum_number_of_times_up_to_a_cap():
    for n in (3_000, 7_000, 12_000):             # small corpora: the step target rules
        assert abs(steps_of_run(n, "text") - defaults.TARGET_STEPS["text"]) <= n / 128
    for n in (40_000, 70_000):                   # larger: at least MIN_TEXT_PASSES passes
        passes = steps_of_run(n, "text") * defaults.BATCH_SIZE / n
        assert defaults.MIN_TEXT_PASSES * 0.9 <= passes <= defaults.MIN_TEXT_PASSES * 1.2
    for n in (1_000_000, 10_000_000):            # millions: the cap bounds the time
        assert steps_of_run(n, "text") <= defaults.MAX_TEXT_STEPS * 1.05


def test_short_document_codes_train_longer_images_and_long_codes_do_not():
    for n in (3_000, 7_000):
        per_epoch = math.ceil(defaults.epoch_items(n, "text") / defaults.BATCH_SIZE)
        for bits in (8, 16, 24):
            steps = steps_of_run(n, "text", bits)
            assert abs(steps - 2 * defaults.TARGET_STEPS["text"]) <= per_epoch / 2, (n, bits)
    for n in (3_000, 7_000, 1_000_000):
        for bits in (32, 64, 128, 256):
            assert defaults.epochs_for(n, "text", bits=bits) == defaults.epochs_for(n, "text")
        for bits in (8, 16, 64):
            assert defaults.epochs_for(n, "image", bits=bits) == defaults.epochs_for(n, "image")


def test_document_patience_covers_a_plateau_of_hundreds_of_steps_images_keep_five_epochs():
    for n in (3_000, 4_672, 7_000, 42_000, 1_000_000):
        per_epoch = math.ceil(defaults.epoch_items(n, "text") / defaults.BATCH_SIZE)
        patience = defaults.patience_for(n, "text")
        assert patience >= defaults.PATIENCE
        assert patience * per_epoch >= defaults.PATIENCE_STEPS["text"]
        assert defaults.patience_for(n, "image") == defaults.PATIENCE


class _Mean(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def loss(self, batch):
        return ((batch - self.w) ** 2).mean()


def test_an_epoch_of_a_capped_run_visits_a_fresh_sample_of_that_many_rows():
    seen = []

    def make_batch(rows):
        seen.append(np.asarray(rows))
        return torch.ones(len(rows))

    rows = np.arange(1_000)
    report = train(_Mean(), make_batch, rows, np.zeros(0, np.int64), epochs=3,
                   batch_size=50, device=torch.device("cpu"), progress=False,
                   epoch_items=200)
    assert report.steps == 12
    epochs = [np.concatenate(seen[i * 4:(i + 1) * 4]) for i in range(3)]
    assert len(seen) == 12 and all(len(e) == len(set(e)) == 200 for e in epochs)
    assert len(set(epochs[0]) ^ set(epochs[1])) > 0          # not the same sample again


def test_a_progress_bar_into_a_log_is_drawn_rarely_not_every_epoch(capsys):
    # stderr captured is not a terminal: every redraw would be another chunk of the log
    rows = np.arange(20)
    train(_Mean(), lambda r: torch.ones(len(r)), rows, rows[:5], epochs=300, batch_size=10,
          device=torch.device("cpu"), progress=True, patience=1000)
    err = capsys.readouterr().err
    assert "training" in err                               # the bar is there
    assert err.count("training:") <= 3, err[:500]


def test_a_run_that_keeps_its_last_weights_ignores_a_rising_validation_loss():
    # training rows pull w toward 1, validation rows score it against 0: the validation
    # loss rises from the first epoch on
    def make_batch(rows):
        return torch.where(torch.as_tensor(rows) < 1_000, 1.0, 0.0)

    def run(stop_early):
        module = _Mean()
        report = train(module, make_batch, np.arange(1_000), np.arange(1_000, 1_010),
                       epochs=8, batch_size=100, lr=0.01, device=torch.device("cpu"),
                       progress=False, patience=2, stop_early=stop_early)
        return report, float(module.w.detach())

    stopped, w_stopped = run(True)
    whole, w_whole = run(False)
    assert stopped.stopped_early and stopped.epochs_run == 3 and stopped.best_epoch == 1
    assert not whole.stopped_early and whole.epochs_run == 8 and whole.best_epoch == 1
    assert w_whole > w_stopped > 0          # the last weights, not the first epoch's


def test_a_run_with_a_score_keeps_the_weights_of_its_highest_epoch_and_stops_after_it():
    """The score (highest wins) takes the validation loss's place: a falling validation
    loss does not move the kept epoch, the score's peak does, and patience counts from it."""
    module = _Mean()
    weights = []

    def score():                          # peaks at epoch 3, whatever the loss does
        weights.append(float(module.w.detach()))
        return [0.1, 0.5, 0.9, 0.4, 0.3, 0.2, 0.8, 0.1][len(weights) - 1]

    report = train(module, lambda r: torch.ones(len(r)), np.arange(100), np.arange(100, 110),
                   epochs=8, batch_size=10, lr=0.01, device=torch.device("cpu"),
                   progress=False, patience=3, score=score)
    assert report.scores == [0.1, 0.5, 0.9, 0.4, 0.3, 0.2]
    assert report.best_epoch == report.kept_epoch == 3 and report.epochs_run == 6
    assert report.stopped_early
    assert float(module.w.detach()) == weights[2] != weights[-1]   # epoch 3's weights
    assert report.best_val_loss == report.history[2][1] > report.history[-1][1]


def test_a_run_whose_score_falls_for_less_than_the_patience_keeps_its_last_weights():
    """A fall shorter than the patience at the end of a run is not told from noise."""
    module = _Mean()
    scores = iter([0.1, 0.5, 0.9, 0.8, 0.85])
    report = train(module, lambda r: torch.ones(len(r)), np.arange(100), np.arange(100, 110),
                   epochs=5, batch_size=10, lr=0.01, device=torch.device("cpu"),
                   progress=False, patience=3, score=lambda: next(scores))
    assert report.best_epoch == 3 and not report.stopped_early
    assert report.kept_epoch == report.epochs_run == 5
    assert report.best_val_loss == report.history[-1][1]
    plain = _Mean()
    train(plain, lambda r: torch.ones(len(r)), np.arange(100), np.arange(100, 110), epochs=5,
          batch_size=10, lr=0.01, device=torch.device("cpu"), progress=False, patience=3,
          stop_early=False)
    assert float(module.w.detach()) == float(plain.w.detach())    # the last weights


def test_how_each_model_chooses_the_epoch_it_keeps():
    assert defaults.epoch_choice("text", "deep") == "agreement"
    assert defaults.epoch_choice("text", "semi") == "labels"
    assert defaults.epoch_choice("image", "deep") == "loss"
    assert defaults.epoch_choice("image", "semi") == "loss"
    assert defaults.epoch_choice("text", "denoising") == "loss"
    assert [defaults.agreement_depth(n) for n in (5, 300, 20_000)] == [1, 30, 100]


def test_the_kl_weight_grows_with_document_length_beyond_the_reference():
    ref = defaults.KL_REFERENCE_WORDS
    assert defaults.text_kl_weight(5) == defaults.text_kl_weight(ref) == 1.0
    assert defaults.text_kl_weight(10 * ref) == 10.0
    from hashret import HashModel
    from hashret.data import as_corpus
    rng = np.random.default_rng(0)
    vocab = [f"term{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(200)]
    short = [" ".join(rng.choice(vocab, 20)) for _ in range(40)]
    long = [" ".join(rng.choice(vocab, 6 * ref)) for _ in range(40)]
    fitted = {name: HashModel(bits=8, epochs=1).fit(as_corpus(docs), progress=False)
              for name, docs in (("short", short), ("long", long))}
    assert fitted["short"].config.kl_weight == 1.0
    # the mean vocabulary words a training document holds, over the reference
    assert 5.5 < fitted["long"].config.kl_weight <= 6.0
    assert fitted["long"].module.kl_weight == fitted["long"].config.kl_weight
    images = HashModel(bits=8, epochs=1).fit(rng.random((20, 8, 8)), progress=False)
    assert images.config.kl_weight == 1.0
    pinned = HashModel(bits=8, epochs=1, kl_weight=0.5).fit(as_corpus(long), progress=False)
    assert pinned.config.kl_weight == 0.5
