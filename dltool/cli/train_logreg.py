"""``dltool train-logreg``: logistic / softmax regression by gradient descent."""

import sys

import click
from click.core import ParameterSource

from dltool.cli.options import SEED, FiniteRange, quiet_option
from dltool.cli.output import note, print_table, resolve_format
from dltool.cli.progress import progress_bar
from dltool.core.names import DATA_FORMATS, LR_SCHEDULES, OPTIMIZERS
from dltool.errors import InputError
from dltool.io.streams import check_outputs
from dltool.io.tabular import write_json



# Options that only the course's optimizers use (a solver has no learning rate or batches), with
# the schedules each schedule parameter belongs to.
COURSE_ONLY = ("batch_size", "lr", "lr_schedule", "decay_rate", "decay_base", "k", "time_interval", "beta1",
               "beta2", "epsilon", "patience", "keep_best")
SCHEDULE_PARAMETERS = {"decay_rate": ("inverse", "staircase"), "decay_base": ("exponential",), "k": ("sqrt",),
                       "time_interval": ("staircase",)}
COURSE_NAMES = "|".join(o for o in OPTIMIZERS if o not in ("lbfgs", "newton"))


@click.command("train-logreg")
@click.argument("data", default="-", metavar="DATA")
@click.option("-o", "--output", default=None, metavar="MODEL.npz",
              help="Write the trained model here, atomically.  [default: not saved]")
@click.option("--label-column", default=None, metavar="NAME", help="CSV column of the labels.  [default: the last]")
@click.option("--image-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Image folders: resize every image to this square side (64 gives 64x64x3 = 12288 features).")
@click.option("--input-format", type=click.Choice(DATA_FORMATS), default="auto", show_default=True,
              help="auto: a folder is an image folder, else from the extension; '-' is CSV.")
@click.option("--optimizer", type=click.Choice(["auto", *OPTIMIZERS]), default="auto", show_default=True,
              help="auto: newton for small models (m P^2 + P^3 <= 5e7, P = (n+1) x classes), else lbfgs - "
                   "both train to the optimum; " + "; ".join(f"{k}: {v}" for k, v in OPTIMIZERS.items()) + ".")
@click.option("--epochs", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Passes over the training set at most (lbfgs/newton: iterations).")
@click.option("--tol", default="auto", show_default=True, metavar="TOL|auto",
              help="lbfgs/newton: stop when max |dJ/dtheta| <= TOL (auto 1e-6; scikit-learn's lbfgs stops at "
                   "1e-4). Course optimizers: early stopping when the watched cost improves by less than "
                   "TOL x cost for --patience epochs (auto 1e-4). 0: never stop early.")
@click.option("--batch-size", default="auto", show_default=True, metavar="N|auto",
              help=f"{COURSE_NAMES}: examples per mini-batch, reshuffled every epoch; 0: the whole set (batch "
                   "gradient descent); auto: the whole set up to 4096 examples, else 512.")
@click.option("--lr", default="auto", show_default=True, metavar="ALPHA0|auto",
              help=f"{COURSE_NAMES}: learning rate alpha0; auto: 0.01, times sqrt(100/n) above n = 100 features.")
@click.option("--lr-schedule", type=click.Choice(list(LR_SCHEDULES)), default="constant", show_default=True,
              help="Learning-rate decay (C2W2), epoch_num = 1, 2, ...: "
                   + "; ".join(f"{k}: {v}" for k, v in LR_SCHEDULES.items()) + ".")
@click.option("--decay-rate", type=float, default=1.0, show_default=True,
              help="decay_rate of the inverse and staircase schedules.")
@click.option("--decay-base", type=float, default=0.95, show_default=True,
              help="The base of the exponential schedule (the course's 0.95).")
@click.option("--k", "k", type=float, default=1.0, show_default=True, help="k of the sqrt schedule.")
@click.option("--time-interval", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Epochs per step of the staircase schedule (the course's schedule_lr_decay default).")
@click.option("--beta1", type=float, default=0.9, show_default=True, help="Momentum / Adam first-moment decay.")
@click.option("--beta2", type=float, default=0.999, show_default=True, help="RMSprop / Adam second-moment decay.")
@click.option("--epsilon", type=float, default=1e-8, show_default=True, help="RMSprop / Adam epsilon.")
@click.option("--patience", type=click.IntRange(min=1), default=3, show_default=True,
              help=f"{COURSE_NAMES}: epochs without improvement before early stopping; a training cost that "
                   "rises this many epochs in a row gets a warning (the learning rate is too large).")
@click.option("--keep-best/--keep-last", default=True, show_default=True,
              help=f"{COURSE_NAMES}: keep the weights of the epoch with the best watched cost (validation "
                   "log-loss if there is a validation set, else the training cost), or the last ones.")
@click.option("--l2", type=float, default=1.0, show_default=True,
              help="L2 strength lambda: cost + lambda/(2m) ||W||^2 (lambda = 1 is scikit-learn's C = 1).")
@click.option("--standardize/--no-standardize", default=True, show_default=True,
              help="Scale features by the training mean and std (stored in the model).")
@click.option("--validation-split", type=FiniteRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="Hold out this fraction of each class for validation.")
@click.option("--validation", "validation_data", default=None, metavar="DATA",
              help="Validate on this data set instead (same form as DATA).  [default: none]")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed of shuffling and the validation split.")
@click.option("--plot", default=None, metavar="PNG",
              help="Draw the cost curve (and validation cost) here.  [default: none]")
@click.option("--format", "output_format", type=click.Choice(["auto", "table", "json"]), default="auto",
              show_default=True, help="The report: auto is a table on a terminal, else JSON.")
@quiet_option
@click.pass_context
def command(ctx, data, output, label_column, image_size, input_format, optimizer, epochs, tol, batch_size, lr,
            lr_schedule, decay_rate, decay_base, k, time_interval, beta1, beta2, epsilon, patience, keep_best, l2,
            standardize, validation_split, validation_data, seed, plot, output_format, quiet):
    """Train logistic (2 classes) or softmax (more) regression to the optimum of its cost.

    Course: C1W2 "Logistic Regression as a Neural Network" (softmax: C2W3), optimizers C2W2.

    The cost is mean cross-entropy + lambda/(2m) ||W||^2, scikit-learn's objective at C = 1/lambda.
    By default a full-batch solver (newton or lbfgs, see --optimizer) trains to max |dJ| <= 1e-6,
    within ~1e-7 of the optimum; --optimizer gd|momentum|rmsprop|adam trains the course's way
    (--lr, --lr-schedule, --batch-size), keeping the best epoch's weights.

    DATA is a CSV with a header (features numeric, labels in --label-column), an .npz with X (m, n)
    and y (m,), an image folder with one subfolder per class, or '-' for a CSV on stdin. Prints a
    report (accuracy, log-loss, confusion matrix, history); -o saves the model for `dltool predict`.

    \b
    Examples:
      dltool train-logreg samples/shapes -o shapes.npz --plot cost.png
      dltool train-logreg samples/flowers.csv --validation-split 0.2 -o flowers.npz
      dltool train-logreg samples/flowers.csv --optimizer gd --lr 0.2 --lr-schedule inverse --decay-rate 1 --epochs 4
      dltool train-logreg samples/flowers.csv --optimizer adam --batch-size 16 --lr-schedule exponential
      cat samples/flowers.csv | dltool train-logreg - --label-column species --format json
    """
    import numpy as np

    from dltool.core import logreg
    from dltool.io.datasets import read_dataset
    from dltool.io.model import SavedModel, save_model

    check_outputs([output, plot], [data, validation_data])
    if plot:
        from dltool.io.plot import require_png

        require_png(plot)
    if validation_data and validation_split:
        raise InputError("--validation and --validation-split do not combine: pick one")
    given = {name for name in COURSE_ONLY
             if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)}
    _check_option_combinations(optimizer, lr_schedule, given)
    hyper = logreg.Hyper(epochs=epochs, batch_size=_auto_int(batch_size, "--batch-size"), optimizer=optimizer,
                         lr=_auto_float(lr, "--lr"), beta1=beta1, beta2=beta2, epsilon=epsilon,
                         lr_schedule=lr_schedule, decay_rate=decay_rate, decay_base=decay_base, k=k,
                         time_interval=time_interval, l2=l2, tol=_auto_float(tol, "--tol"), patience=patience,
                         keep_best=keep_best, seed=seed)
    hyper.check_values()

    train = read_dataset(data, label_column=label_column, image_size=image_size, input_format=input_format)
    for line in train.notes:
        note(quiet, f"train-logreg: {line}")
    classes, y = logreg.encode_labels(train.y)
    if len(classes) < 2:
        raise InputError(f"only one class ({classes[0]!r}) in the labels: training needs at least two", train.name)
    if len(classes) > max(20, len(y) // 2):
        note(quiet, f"train-logreg: warning: {len(classes)} classes in {len(y)} examples - is "
                    f"{train.label_name!r} really the label? (--label-column)")
    X = train.X
    X_val = y_val = None
    if validation_data:
        val = read_dataset(validation_data, label_column=train.label_name, image_size=image_size,
                           expected_features=train.feature_names if train.kind != "images" else None)
        unknown = sorted(set(val.y.tolist()) - set(classes))
        if unknown:
            raise InputError(f"validation labels not seen in training: {', '.join(unknown[:5])}", val.name)
        index = {c: i for i, c in enumerate(classes)}
        X_val, y_val = val.X, np.array([index[v] for v in val.y.tolist()])
    elif validation_split:
        rows, val_rows = logreg.stratified_split(y, validation_split, seed)
        X, X_val, y, y_val = X[rows], X[val_rows], y[rows], y[val_rows]
    mean = std = None
    if standardize:
        # In place: X and X_val are this run's own arrays (read or split here), and a copy of a
        # large X would cost as much time and memory as reading it.
        mean, std = logreg.standardize_sets(X, X_val)
    note(quiet, f"train-logreg: {len(X)} examples x {X.shape[1]} features, {len(classes)} classes "
                f"({'logistic' if len(classes) == 2 else 'softmax'}) from {train.name}"
                + (f"; {len(X_val)} for validation" if X_val is not None else ""))

    with progress_bar(quiet) as update:
        W, b, history = logreg.train(X, y, len(classes), hyper, X_val, y_val,
                                     progress=lambda e, total, cost: update("epochs", e, total, f"cost {cost:.5f}"))
    settings = hyper.resolve(*X.shape, len(classes))
    report = _report(logreg, W, b, X, y, X_val, y_val, classes, history, settings, hyper.optimizer == "auto",
                     train, standardize)
    for warning in report["warnings"]:
        note(quiet, f"train-logreg: warning: {warning}")
    if output:
        save_model(output, SavedModel(W, b, classes, mean, std, train.image_size,
                                      [] if train.kind == "images" else list(train.feature_names),
                                      train.label_name or "", report["settings"]))
        note(quiet, f"train-logreg: model written to {output}")
    if plot:
        _plot(plot, history, report)
        note(quiet, f"train-logreg: cost curve written to {plot}")
    if resolve_format(output_format, "json") == "json":
        write_json(sys.stdout, report)
    else:
        _print_report(report)


def _check_option_combinations(optimizer, lr_schedule, given):
    """Refuse options that would be silently ignored: course-optimizer settings with a solver, and
    schedule parameters of another schedule."""
    if optimizer in ("auto", "lbfgs", "newton") and given:
        names = [("--" + n.replace("_", "-")) if n != "keep_best" else "--keep-best/--keep-last"
                 for n in COURSE_ONLY if n in given]
        which = "auto trains with newton or lbfgs" if optimizer == "auto" else f"{optimizer} is a full-batch solver"
        raise InputError(f"{', '.join(names)} {'applies' if len(names) == 1 else 'apply'} only to the course's "
                         f"optimizers ({COURSE_NAMES.replace('|', ', ')}): --optimizer {which}, with no learning "
                         "rate or mini-batches - add e.g. --optimizer adam")
    for name, schedules in SCHEDULE_PARAMETERS.items():
        if name in given and lr_schedule not in schedules:
            raise InputError(f"--{name.replace('_', '-')} applies to --lr-schedule {' or '.join(schedules)}, "
                             f"not {lr_schedule}")


def _auto_int(value, option):
    if value == "auto":
        return None
    try:
        number = int(value)
    except ValueError:
        raise InputError(f"{option} must be a whole number >= 0 or 'auto', got {value!r}") from None
    if number < 0:
        raise InputError(f"{option} must be >= 0 or 'auto', got {number}")
    return number


def _auto_float(value, option):
    if value == "auto":
        return None
    try:
        return float(value)
    except ValueError:
        raise InputError(f"{option} must be a number or 'auto', got {value!r}") from None


def _metrics(logreg, W, b, X, y, n_classes):
    P = logreg.predict_proba(W, b, X)
    predicted = P.argmax(axis=1)
    return {"examples": int(len(y)), "accuracy": float((predicted == y).mean()),
            "log_loss": logreg.cross_entropy(P, y),
            "confusion_matrix": logreg.confusion_matrix(y, predicted, n_classes).tolist()}


def _history(history):
    """One record per epoch (solvers: per iteration), the learning rate next to its cost."""
    records = []
    for e, cost in enumerate(history.cost):
        record = {"epoch": e + 1}
        if history.lr:
            record["lr"] = history.lr[e]
        record["cost"] = cost
        if history.gradient:
            record["gradient"] = history.gradient[e]
            record["step"] = history.step[e]
        if history.val_cost:
            record["val_cost"] = history.val_cost[e]
        records.append(record)
    return records


def _settings(s, auto, data, standardize):
    settings = {"optimizer": s.optimizer, "auto_optimizer": auto, "l2": s.l2, "epochs": s.epochs, "tol": s.tol}
    if s.course:
        settings.update(lr=s.lr, lr_schedule=s.lr_schedule)
        for name, schedules in SCHEDULE_PARAMETERS.items():
            if s.lr_schedule in schedules:
                settings[name] = getattr(s, name)
        settings.update(beta1=s.beta1, beta2=s.beta2, epsilon=s.epsilon, batch_size=s.batch_size,
                        patience=s.patience, keep_best=s.keep_best)
    settings.update(seed=s.seed, standardize=standardize, image_size=data.image_size)
    return settings


def _warnings(history, settings):
    warnings = []
    for first, last in history.rises:
        warnings.append(f"the training cost rose {last - first} epochs in a row, from {history.cost[first - 1]:.6g} "
                        f"(epoch {first}) to {history.cost[last - 1]:.6g} (epoch {last}): the learning rate "
                        f"{settings.lr:g} is probably too large - lower --lr or add --lr-schedule")
    if not settings.course and not history.stopped_early and settings.tol > 0:
        warnings.append(f"{history.stop_reason}: the optimum is not reached - raise --epochs")
    return warnings


def _report(logreg, W, b, X, y, X_val, y_val, classes, history, settings, auto, data, standardize):
    train_metrics = _metrics(logreg, W, b, X, y, len(classes))
    train_metrics["cost"] = history.final_cost
    if history.final_gradient is not None:
        train_metrics["gradient"] = history.final_gradient
    return {
        "model": "logistic" if len(classes) == 2 else "softmax",
        "data": data.name, "classes": classes, "features": int(X.shape[1]),
        "train": train_metrics,
        "validation": None if X_val is None else _metrics(logreg, W, b, X_val, y_val, len(classes)),
        "optimizer": settings.optimizer,
        "epochs": history.epochs, "stopped_early": history.stopped_early, "stop_reason": history.stop_reason,
        "kept": _kept(history, settings),
        "seconds": round(history.seconds, 3),
        "history": _history(history),
        "warnings": _warnings(history, settings),
        "settings": _settings(settings, auto, data, standardize),
    }


def _kept(history, settings):
    """Which weights the model holds, in words."""
    if not settings.course:
        return "the solver's final weights"
    if history.best_epoch is None:
        return f"the last weights (epoch {history.epochs}; --keep-last)"
    cost = "validation log-loss" if history.monitor == "validation" else "training cost"
    if history.best_epoch == history.epochs:
        return f"the best weights, which are the last (epoch {history.epochs}, best {cost})"
    return f"the best weights: those after epoch {history.best_epoch} (best {cost}), not the last"


def _print_report(report):
    sets = [("train", report["train"])] + ([("validation", report["validation"])] if report["validation"] else [])
    settings = report["settings"]
    unit = "epochs" if report["optimizer"] not in ("lbfgs", "newton") else "iterations"
    print_table(["", *[name for name, _ in sets]],
                [["examples", *[s["examples"] for _, s in sets]],
                 ["accuracy", *[f"{s['accuracy']:.4f}" for _, s in sets]],
                 ["log-loss", *[f"{s['log_loss']:.5f}" for _, s in sets]],
                 ["cost J", f"{report['train']['cost']:.8g}", *[""] * (len(sets) - 1)]],
                title=f"{report['model']} regression, {len(report['classes'])} classes, {report['features']} "
                      f"features: {report['optimizer']}{' (auto)' if settings['auto_optimizer'] else ''}, "
                      f"{report['epochs']} {unit}, {report['seconds']:.2f} s",
                caption=f"{report['stop_reason']}; kept {report['kept']}")
    for name, s in sets:
        print_table(["true \\ predicted", *report["classes"]],
                    [[c, *row] for c, row in zip(report["classes"], s["confusion_matrix"])],
                    title=f"confusion matrix ({name})")


def _plot(path, history, report):
    from dltool.io.plot import Chart

    epochs = list(range(1, len(history.cost) + 1))
    unit = "iteration" if report["optimizer"] in ("lbfgs", "newton") else "epoch"
    chart = Chart(title=f"train-logreg ({report['optimizer']}): cost per {unit}", x_label=unit, y_label="cost")
    chart.line(epochs, history.cost, label="training cost (with L2)")
    if history.val_cost:
        chart.line(epochs, history.val_cost, label="validation log-loss", dashed=True)
    chart.save(path)
