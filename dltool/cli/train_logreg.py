"""``dltool train-logreg``: logistic / softmax regression by gradient descent."""

import sys

import click

from dltool.cli.options import quiet_option
from dltool.cli.output import note, print_table, resolve_format
from dltool.cli.progress import progress_bar
from dltool.core.names import OPTIMIZERS
from dltool.errors import InputError
from dltool.io.streams import check_writable
from dltool.io.tabular import write_json

DATA_FORMATS = ("auto", "csv", "npz", "images")  # dltool.io.datasets.DATA_FORMATS, numpy-free here


@click.command("train-logreg")
@click.argument("data", default="-", metavar="DATA")
@click.option("-o", "--output", default=None, metavar="MODEL.npz",
              help="Write the trained model here, atomically.  [default: not saved]")
@click.option("--label-column", default=None, metavar="NAME", help="CSV column of the labels.  [default: the last]")
@click.option("--image-size", type=click.IntRange(min=1), default=64, show_default=True,
              help="Image folders: resize every image to this square side (64 gives 64x64x3 = 12288 features).")
@click.option("--input-format", type=click.Choice(DATA_FORMATS), default="auto", show_default=True,
              help="auto: a folder is an image folder, else from the extension; '-' is CSV.")
@click.option("--epochs", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Passes over the training set at most (see --tol).")
@click.option("--batch-size", default="auto", show_default=True, metavar="N|auto",
              help="Examples per mini-batch; 0: the whole set (batch gradient descent); auto: the whole "
                   "set up to 4096 examples, else 512.")
@click.option("--optimizer", type=click.Choice(list(OPTIMIZERS)), default="adam", show_default=True,
              help="; ".join(f"{k}: {v}" for k, v in OPTIMIZERS.items()) + ".")
@click.option("--lr", default="auto", show_default=True, metavar="ALPHA|auto",
              help="Learning rate alpha_0; auto: 0.01, times sqrt(100/n) above n = 100 features.")
@click.option("--beta1", type=float, default=0.9, show_default=True, help="Momentum / Adam first-moment decay.")
@click.option("--beta2", type=float, default=0.999, show_default=True, help="RMSprop / Adam second-moment decay.")
@click.option("--epsilon", type=float, default=1e-8, show_default=True, help="RMSprop / Adam epsilon.")
@click.option("--lr-decay", default="auto", show_default=True, metavar="D|auto",
              help="alpha = alpha_0 / (1 + D * epoch); auto: 0 for batch gradient descent, 1 for mini-batches.")
@click.option("--l2", type=float, default=1.0, show_default=True,
              help="L2 strength lambda: cost + lambda/(2m) ||W||^2 (lambda = 1 is scikit-learn's C = 1).")
@click.option("--standardize/--no-standardize", default=True, show_default=True,
              help="Scale features by the training mean and std (stored in the model).")
@click.option("--validation-split", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="Hold out this fraction of each class for validation.")
@click.option("--validation", "validation_data", default=None, metavar="DATA",
              help="Validate on this data set instead (same form as DATA).  [default: none]")
@click.option("--tol", type=click.FloatRange(min=0), default=1e-4, show_default=True,
              help="Stop when the cost improves by less than tol x cost for 3 epochs in a row (0: never).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of shuffling and the validation split.")
@click.option("--plot", default=None, metavar="PNG",
              help="Draw the cost curve (and validation cost) here.  [default: none]")
@click.option("--format", "output_format", type=click.Choice(["auto", "table", "json"]), default="auto",
              show_default=True, help="The report: auto is a table on a terminal, else JSON.")
@quiet_option
def command(data, output, label_column, image_size, input_format, epochs, batch_size, optimizer, lr, beta1, beta2,
            epsilon, lr_decay, l2, standardize, validation_split, validation_data, tol, seed, plot, output_format,
            quiet):
    """Train logistic (2 classes) or softmax (more) regression by gradient descent.

    DATA is a CSV with a header (features numeric, labels in --label-column), an .npz with X (m, n)
    and y (m,), an image folder with one subfolder per class, or '-' for a CSV on stdin. Prints a
    report (accuracy, log-loss, confusion matrix); -o saves the model for `dltool predict`.

    \b
    Examples:
      dltool train-logreg samples/shapes -o shapes.npz --plot cost.png
      dltool train-logreg samples/flowers.csv --validation-split 0.2 -o flowers.npz
      dltool train-logreg samples/flowers.csv --optimizer momentum --batch-size 16 --lr-decay 0.1
      cat samples/flowers.csv | dltool train-logreg - --label-column species --format json
    """
    import numpy as np

    from dltool.core import logreg
    from dltool.io.datasets import read_dataset
    from dltool.io.model import SavedModel, save_model

    for target in (output, plot):
        if target:
            check_writable(target)
    if plot:
        from dltool.io.plot import require_png

        require_png(plot)
    if validation_data and validation_split:
        raise InputError("--validation and --validation-split do not combine: pick one")
    hyper = logreg.Hyper(epochs=epochs, batch_size=_auto_int(batch_size, "--batch-size"), optimizer=optimizer,
                         lr=_auto_float(lr, "--lr"), beta1=beta1, beta2=beta2, epsilon=epsilon, lr_decay=_auto_float(lr_decay, "--lr-decay"),
                         l2=l2, tol=tol, seed=seed)
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
    mean, std = logreg.standardization(X) if standardize else (None, None)
    scale = (lambda A: (A - mean) / std) if standardize else (lambda A: A)
    Xs = scale(X)
    Xv = None if X_val is None else scale(X_val)
    note(quiet, f"train-logreg: {len(Xs)} examples x {Xs.shape[1]} features, {len(classes)} classes "
                f"({'logistic' if len(classes) == 2 else 'softmax'}) from {train.name}"
                + (f"; {len(Xv)} for validation" if Xv is not None else ""))

    with progress_bar(quiet) as update:
        W, b, history = logreg.train(Xs, y, len(classes), hyper, Xv, y_val,
                                     progress=lambda e, total, cost: update("epochs", e, total, f"cost {cost:.5f}"))
    settings = hyper.resolve(*Xs.shape)
    report = _report(logreg, W, b, Xs, y, Xv, y_val, classes, history, settings, train, standardize)
    if output:
        save_model(output, SavedModel(W, b, classes, mean, std, train.image_size,
                                      [] if train.kind == "images" else list(train.feature_names),
                                      train.label_name or "", report["settings"]))
        note(quiet, f"train-logreg: model written to {output}")
    if plot:
        _plot(plot, history)
        note(quiet, f"train-logreg: cost curve written to {plot}")
    if resolve_format(output_format, "json") == "json":
        write_json(sys.stdout, report)
    else:
        _print_report(report)


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


def _report(logreg, W, b, X, y, X_val, y_val, classes, history, settings, data, standardize):
    train_metrics = _metrics(logreg, W, b, X, y, len(classes))
    train_metrics["cost"] = history.cost[-1]
    return {
        "model": "logistic" if len(classes) == 2 else "softmax",
        "data": data.name, "classes": classes, "features": int(X.shape[1]),
        "train": train_metrics,
        "validation": None if X_val is None else _metrics(logreg, W, b, X_val, y_val, len(classes)),
        "epochs": history.epochs, "stopped_early": history.stopped_early,
        "seconds": round(history.seconds, 3),
        "cost_history": history.cost,
        "settings": {"optimizer": settings.optimizer, "lr": settings.lr, "beta1": settings.beta1,
                     "beta2": settings.beta2, "epsilon": settings.epsilon, "lr_decay": settings.lr_decay,
                     "batch_size": settings.batch_size, "l2": settings.l2, "epochs": settings.epochs,
                     "tol": settings.tol, "seed": settings.seed, "standardize": standardize,
                     "image_size": data.image_size},
    }


def _print_report(report):
    sets = [("train", report["train"])] + ([("validation", report["validation"])] if report["validation"] else [])
    print_table(["", *[name for name, _ in sets]],
                [["examples", *[s["examples"] for _, s in sets]],
                 ["accuracy", *[f"{s['accuracy']:.4f}" for _, s in sets]],
                 ["log-loss", *[f"{s['log_loss']:.5f}" for _, s in sets]]],
                title=f"{report['model']} regression, {len(report['classes'])} classes, {report['features']} "
                      f"features: {report['epochs']} epochs"
                      f"{' (stopped early)' if report['stopped_early'] else ''}, {report['seconds']:.2f} s")
    for name, s in sets:
        print_table(["true \\ predicted", *report["classes"]],
                    [[c, *row] for c, row in zip(report["classes"], s["confusion_matrix"])],
                    title=f"confusion matrix ({name})")


def _plot(path, history):
    from dltool.io.plot import Chart

    epochs = list(range(1, len(history.cost) + 1))
    chart = Chart(title="train-logreg: cost per epoch", x_label="epoch", y_label="cost")
    chart.line(epochs, history.cost, label="training cost (with L2)")
    if history.val_cost:
        chart.line(epochs, history.val_cost, label="validation log-loss", dashed=True)
    chart.save(path)
