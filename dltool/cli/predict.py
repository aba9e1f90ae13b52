"""``dltool predict``: apply a model written by ``dltool train-logreg``."""

import os

import click

from dltool.cli.options import output_format_option, quiet_option
from dltool.cli.output import emit_rows, note
from dltool.core.names import DATA_FORMATS
from dltool.errors import InputError
from dltool.io.streams import check_outputs



@click.command("predict")
@click.argument("model", metavar="MODEL")
@click.argument("data", default="-", metavar="DATA")
@click.option("--input-format", type=click.Choice(DATA_FORMATS), default="auto", show_default=True,
              help="auto: a folder is an image folder, else from the extension; '-' is CSV.")
@click.option("-o", "--output", default=None, metavar="FILE",
              help="Write the rows here (.csv/.tsv/.json/.jsonl), atomically.  [default: stdout]")
@output_format_option()
@quiet_option
def command(model, data, input_format, output, output_format, quiet):
    """Predict classes with a model from `dltool train-logreg`: one row per example.

    Course: C1W2 "Logistic Regression with a Neural Network mindset" (its predict()).

    Columns: the predicted class label, then p_<label> for every class (an image folder gets a first
    'path' column). DATA has the training form: a CSV with the same feature columns (the label
    column may be there or not; when it is, the accuracy goes to stderr), an .npz, or an image
    folder (with class subfolders, or just images).

    \b
    Examples:
      dltool train-logreg samples/flowers.csv -o flowers.npz -q && dltool predict flowers.npz samples/flowers.csv
      dltool train-logreg samples/shapes -o shapes.npz -q && dltool predict shapes.npz samples/shapes --format json
    """
    import numpy as np

    from dltool.core.logreg import predict_proba
    from dltool.io.datasets import read_dataset
    from dltool.io.model import load_model

    check_outputs([output], [model, data])
    saved = load_model(model)
    images = saved.image_size > 0
    # Check the kind of data against the model before parsing it: a CSV given to an image model
    # should hear that, not about a cell its parser did not expect.
    folder = input_format == "images" or (input_format == "auto" and data != "-" and os.path.isdir(data))
    if images and not folder:
        raise InputError(f"the model was trained on {saved.image_size}x{saved.image_size} images: give an "
                         "image folder", data if data != "-" else "<stdin>")
    if folder and not images:
        raise InputError(f"the model was trained on {saved.n_features} tabular features: give a CSV or an "
                         ".npz, not an image folder", data)
    dataset = read_dataset(data, label_column=saved.label_name or None, require_labels=False,
                           image_size=saved.image_size if images else 64, input_format=input_format,
                           expected_features=None if images else saved.feature_names or None)
    for line in dataset.notes:
        note(quiet, f"predict: {line}")
    if dataset.X.shape[1] != saved.n_features:
        raise InputError(f"{dataset.X.shape[1]} features, but the model takes {saved.n_features}"
                         + (f" ({saved.image_size}x{saved.image_size}x3 pixels)" if images else ""), dataset.name)
    P = predict_proba(saved.W, saved.b, saved.standardize(dataset.X))
    predicted = P.argmax(axis=1)
    labels = [saved.classes[i] for i in predicted.tolist()]
    if dataset.y is not None:
        truth = dataset.y.astype(str)
        unknown = sorted(set(truth.tolist()) - set(saved.classes))
        accuracy = float(np.mean(truth == np.array(labels)))
        note(quiet, f"predict: accuracy {accuracy:.4f} on {len(truth)} labelled examples"
                    + (f" (labels the model never saw: {', '.join(unknown[:5])})" if unknown else ""))
    prob_columns = [f"p_{c}" for c in saved.classes]
    columns = (["path"] if dataset.paths else []) + ["predicted"] + prob_columns
    rows = []
    for i, label in enumerate(labels):
        rows.append(([dataset.paths[i]] if dataset.paths else []) + [label] + P[i].tolist())
    emit_rows(output_format, output, columns, rows, lambda: [dict(zip(columns, r)) for r in rows],
              title=f"predict: {len(rows)} examples")
