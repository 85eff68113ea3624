"""Split the validated dataset into train and test parts."""

from snaketrain.stage_log import stage_logging
from snaketrain.table_io import read_json, read_table, write_table

STAGE = "split_data"


def split(df, target, task, test_size, seed, stratify):
    """Rows with a missing target are dropped (they cannot be learned from); the rest is split."""
    from sklearn.model_selection import train_test_split

    df = df[df[target].notna()].reset_index(drop=True)
    strata = df[target] if stratify and task != "regression" else None
    train, test = train_test_split(df, test_size=test_size, random_state=seed, stratify=strata)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        report = read_json(input.report)
        df = read_table(input.data)
        logger.info("read %d rows x %d columns from %s", *df.shape, input.data)
        train, test = split(df, report["target"], report["task"], **params.split)
        logger.info(
            "%d rows: %d train, %d test (dropped %d with no target)",
            len(df),
            len(train),
            len(test),
            len(df) - len(train) - len(test),
        )
        write_table(train, output.train)
        write_table(test, output.test)
