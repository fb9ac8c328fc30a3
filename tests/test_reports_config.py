"""Report pipeline without kernels: parameters cells, reports.yaml, validation, cache keys,
progress lines, the ``latest`` pointer, and notebooks stored without outputs."""

from __future__ import annotations

import io
from pathlib import Path

import nbformat
import pytest
import yaml
from reports_helpers import make_project, write_notebook

from engagement_kit.reports import __main__ as cli
from engagement_kit.reports import runner
from engagement_kit.reports.cache import cache_key
from engagement_kit.reports.config import ConfigError, check_runs, expand_entry, load_config, select_runs
from engagement_kit.reports.manifest import DataFingerprint, fingerprint
from engagement_kit.reports.params import EXPRESSION, check_parameters, describe, parameters_of

REPO = Path(__file__).resolve().parents[1]


def test_parameters_cell_gives_names_types_defaults_and_comments(tmp_path):
    nb = write_notebook(
        tmp_path / "p.ipynb",
        'data_path = "data/x.csv"  # the table\nalpha = 0.05  # test level\nn: int = 3\n'
        "flag = False  # on/off\nnames = ['a', 'b']\nseed = None  # any\nnow = len('abc')  # computed",
    )
    params = {p.name: p for p in parameters_of(nb)}
    assert [(p.name, p.type_name) for p in params.values()] == [
        ("data_path", "str"), ("alpha", "float"), ("n", "int"), ("flag", "bool"),
        ("names", "list"), ("seed", "any"), ("now", "expression"),
    ]  # fmt: skip
    assert params["data_path"].comment == "the table" and params["n"].comment == ""
    assert params["now"].default is EXPRESSION
    text = describe(nb)
    assert "alpha" in text and "0.05" in text and "test level" in text and "len('abc')" in text


def test_parameter_types_are_checked_against_defaults(tmp_path):
    declared = parameters_of(write_notebook(tmp_path / "p.ipynb", "alpha = 0.05\nn = 3\nflag = False\nname = 'x'"))
    assert check_parameters(declared, {"alpha": 1, "n": 4, "flag": True, "name": "y"}) == []
    problems = check_parameters(declared, {"alpah": 0.1, "n": 2.5, "flag": 1, "name": 3})
    assert "unknown parameter 'alpah' (did you mean 'alpha'?)" in problems[0]
    assert "'n' must be int" in problems[1] and "'flag' must be bool" in problems[2]
    assert "'name' must be str" in problems[3]
    assert check_parameters(declared, {"n": True}) != []  # a bool is not an int here


def test_grid_expands_into_named_runs_with_bundles():
    runs = expand_entry(
        {
            "name": "m",
            "notebook": "nb.ipynb",
            "parameters": {"alpha": 0.05},
            "grid": {
                "dataset": {"demo": {"a_path": "d/a.csv", "b_path": "d/b.csv"}, "real": {"a_path": "r/a.csv"}},
                "segment": ["smb", "enterprise"],
            },
        },
        0,
    )
    assert [r.name for r in runs] == ["m_demo_smb", "m_demo_enterprise", "m_real_smb", "m_real_enterprise"]
    assert runs[0].parameters == {"alpha": 0.05, "a_path": "d/a.csv", "b_path": "d/b.csv", "segment": "smb"}
    assert runs[3].parameters == {"alpha": 0.05, "a_path": "r/a.csv", "segment": "enterprise"}
    named = expand_entry({"name": "{segment}-report", "notebook": "n", "grid": {"segment": ["a b", "c"]}}, 0)
    assert [r.name for r in named] == ["a_b-report", "c-report"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "a", "notebook": "n", "paramters": {}}, "unknown key 'paramters' (did you mean 'parameters'?)"),
        ({"name": "a", "notebook": "n", "parameters": [1]}, "'parameters' must be a mapping"),
        ({"name": "a", "notebook": 3}, "'notebook' must be a string"),
        ({"name": "a"}, "missing required key 'notebook'"),
        ({"name": "a", "notebook": "n", "parameters": {"output_dir": "x"}}, "'output_dir' is set by the pipeline"),
        ({"name": "a/b", "notebook": "n"}, "hold only letters, digits"),
        ({"name": "a", "notebook": "n", "grid": {"s": []}}, "grid key 's' has no values"),
        ({"name": "{x}", "notebook": "n", "grid": {"s": [1]}}, "name placeholder 'x' is not a grid key"),
    ],
)
def test_bad_run_entries_name_the_problem(entry, message):
    with pytest.raises(ConfigError) as err:
        expand_entry(entry, 0)
    assert message in str(err.value)


def test_config_file_problems_are_all_reported(tmp_path):
    cfg = tmp_path / "r.yaml"
    cfg.write_text("run:\n  - name: a\n")
    with pytest.raises(ConfigError, match="unknown top-level key 'run' \\(did you mean 'runs'\\?\\)"):
        load_config(cfg)
    cfg.write_text("runs:\n  - {name: a, notebook: n}\n  - {name: a, notebook: m}\n")
    with pytest.raises(ConfigError, match="run name 'a' is used twice"):
        load_config(cfg)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")


def test_check_runs_catches_unknown_parameter_wrong_type_and_missing_data(tmp_path):
    cfg = make_project(
        tmp_path,
        [
            {"name": "a", "notebook": "notebooks/ok.ipynb", "parameters": {"lable": "x"}},
            {"name": "b", "notebook": "notebooks/ok.ipynb", "parameters": {"n": "three"}},
            {"name": "c", "notebook": "notebooks/data.ipynb", "parameters": {"table_path": "data/nope.csv"}},
            {"name": "d", "notebook": "notebooks/missing.ipynb"},
            {"name": "e", "notebook": "notebooks/data.ipynb"},  # the default path exists
        ],
    )
    runs = load_config(cfg)
    with pytest.raises(ConfigError) as err:
        check_runs(runs)
    problems = err.value.problems
    assert len(problems) == 4, problems
    assert "run 'a': unknown parameter 'lable' (did you mean 'label'?)" in problems[0]
    assert "run 'b': parameter 'n' must be int like its default 3, got str 'three'" in problems[1]
    assert "run 'c': parameter 'table_path': data file data/nope.csv not found" in problems[2]
    assert "run 'd'" in problems[3] and "does not exist" in problems[3]
    check_runs([r for r in runs if r.name == "e"])
    assert runs[-1].data == {"table_path": tmp_path / "data" / "t.csv"}


def test_notebook_without_output_dir_parameter_is_rejected(tmp_path):
    write_notebook(tmp_path / "notebooks" / "nb.ipynb", "n = 1")
    runs = expand_entry({"name": "a", "notebook": "notebooks/nb.ipynb"}, 0, tmp_path)
    with pytest.raises(ConfigError, match="has no 'output_dir' parameter"):
        check_runs(runs)


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ([{"name": "a", "notebook": "notebooks/ok.ipynb", "colour": 1}], "unknown key 'colour'"),
        ([{"name": "a", "notebook": "notebooks/ok.ipynb", "parameters": {"n": 1.5}}], "'n' must be int"),
        ([{"name": "a", "notebook": "notebooks/data.ipynb", "parameters": {"table_path": "no.csv"}}], "not found"),
    ],
)
def test_bad_config_exits_2_before_any_kernel_starts(tmp_path, monkeypatch, capsys, runs, message):
    cfg = make_project(tmp_path, runs)

    def no_batch(*args, **kwargs):
        raise AssertionError("a kernel would have started")

    monkeypatch.setattr(runner, "run_batch", no_batch)
    assert cli.main(["--config", str(cfg), "--output-root", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_only_selects_by_name_entry_or_pattern(tmp_path):
    cfg = make_project(
        tmp_path,
        [
            {"name": "ok_{label}", "notebook": "notebooks/ok.ipynb", "grid": {"label": ["a", "b"]}},
            {"name": "other", "notebook": "notebooks/ok.ipynb"},
        ],
    )
    runs = load_config(cfg)
    assert [r.name for r in select_runs(runs, ["ok_{label}"])] == ["ok_a", "ok_b"]
    assert [r.name for r in select_runs(runs, ["ok_*", "other"])] == ["ok_a", "ok_b", "other"]
    with pytest.raises(ConfigError, match="did you mean 'other'"):
        select_runs(runs, ["othr"])


def test_describe_command_lists_parameters(capsys):
    assert cli.main(["--describe", str(REPO / "notebooks" / "hello_report.ipynb")]) == 0
    out = capsys.readouterr().out
    assert "customers_path" in out and "min_cell_size" in out and "int" in out and "suppressed" in out


def test_cache_key_tracks_notebook_parameters_data_packages_and_code():
    fp = [DataFingerprint("a_path", "a.csv", "0" * 64, 3, 10)]
    base = ("nb", {"n": 1, "output_dir": "x"}, fp, {"pandas": "3.1"}, "code", False)
    key = cache_key(*base)
    assert key == cache_key("nb", {"n": 1, "output_dir": "elsewhere"}, fp, {"pandas": "3.1"}, "code", False)
    changed = [
        ("nb2", *base[1:]),
        (base[0], {"n": 2}, *base[2:]),
        (*base[:2], [DataFingerprint("a_path", "a.csv", "1" * 64, 3, 10)], *base[3:]),
        (*base[:3], {"pandas": "3.2"}, *base[4:]),
        (*base[:4], "code2", False),
        (*base[:5], True),
    ]
    assert all(cache_key(*c) != key for c in changed)


def test_fingerprint_counts_rows_with_quoted_newlines(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text('id,text\n1,"two\nlines"\n2,plain\n')
    fp = fingerprint(p, "t_path")
    assert fp.rows == 2 and len(fp.sha256) == 64 and fp.bytes == p.stat().st_size


def test_progress_without_terminal_prints_plain_lines():
    out = io.StringIO()
    progress = runner.Progress(2, stream=out, tty=False)
    progress.started("a")
    progress.finished("a", "ok", 1.25)
    progress.finished("b", "failed", 2.0)
    lines = out.getvalue().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["start    a", "ok       a (1.2 s)", "failed   b (2.0 s)"]
    assert "\x1b" not in out.getvalue()


def test_progress_on_terminal_redraws_a_status_line():
    out = io.StringIO()
    progress = runner.Progress(2, stream=out, tty=True)
    progress.started("a")
    progress.finished("a", "ok", 1.0)
    assert "\r\x1b[K[1/2] ok 1, failed 0, running 0" in out.getvalue()


def test_latest_is_a_symlink_or_a_copy_when_symlinks_fail(tmp_path, monkeypatch):
    for run_id in ("r1", "r2"):
        (tmp_path / run_id).mkdir()
        (tmp_path / run_id / "index.html").write_text(run_id)
    runner.point_latest(tmp_path, "r1")
    assert (tmp_path / "latest").is_symlink() and (tmp_path / "latest" / "index.html").read_text() == "r1"

    def no_symlinks(*args, **kwargs):
        raise OSError("symlinks not supported")

    monkeypatch.setattr(runner.os, "symlink", no_symlinks)
    runner.point_latest(tmp_path, "r2")
    assert not (tmp_path / "latest").is_symlink()
    assert (tmp_path / "latest" / "index.html").read_text() == "r2"
    assert (tmp_path / "latest.txt").read_text().strip() == "r2"
    assert (tmp_path / "r1" / "index.html").read_text() == "r1"


@pytest.mark.parametrize("path", sorted(REPO.glob("notebooks/**/*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs; clear them (jupyter nbconvert --clear-output)"


def test_default_batch_is_valid_apart_from_data():
    runs = load_config(REPO / "reports.yaml")
    assert runs, "reports.yaml declares no runs"
    try:
        check_runs(runs)
    except ConfigError as exc:  # the demo data may not exist yet (make demo); nothing else may fail
        assert all("not found (create the demo data" in p for p in exc.problems), exc.problems
    for nb_path in {r.notebook_path for r in runs}:
        nb = nbformat.read(nb_path, as_version=4)
        assert nb.metadata.get("kernelspec", {}).get("name") == "python3", nb_path


def test_data_folders_are_checked_and_fingerprinted(tmp_path):
    write_notebook(tmp_path / "notebooks" / "nb.ipynb", 'data_dir = "data/demo"  # tables\noutput_dir = "."')
    runs = expand_entry({"name": "a", "notebook": "notebooks/nb.ipynb"}, 0, tmp_path)
    with pytest.raises(ConfigError, match="data folder data/demo not found .create the demo data"):
        check_runs(runs)
    (tmp_path / "data" / "demo").mkdir(parents=True)
    (tmp_path / "data" / "demo" / "a.csv").write_text("x\n1\n")
    check_runs(runs)
    assert runs[0].data == {"data_dir": tmp_path / "data" / "demo"}  # output_dir is not data
    before = fingerprint(tmp_path / "data" / "demo", "data_dir")
    (tmp_path / "data" / "demo" / "a.csv").write_text("x\n2\n")
    assert fingerprint(tmp_path / "data" / "demo", "data_dir").sha256 != before.sha256


def test_batch_folder_moved_aside_by_a_dead_process_is_restored(tmp_path):
    dead_pid = 2**22 + 12345  # above the default pid_max: never a live process
    (tmp_path / f".trash-nightly-{dead_pid}").mkdir()
    (tmp_path / f".trash-nightly-{dead_pid}" / "index.html").write_text("good")
    (tmp_path / f".staging-nightly-{dead_pid}").mkdir()
    runner._clean_stale_staging(tmp_path)
    assert (tmp_path / "nightly" / "index.html").read_text() == "good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nightly"]


def test_html_hides_code_unless_with_code():
    from engagement_kit.reports.render import notebook_to_html

    cell = nbformat.v4.new_code_cell("secret_formula = 6 * 7", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "42"}, execution_count=1)]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title"), cell])
    hidden, shown = notebook_to_html(nb), notebook_to_html(nb, with_code=True)
    assert "Title" in hidden and "42" in hidden and "secret_formula" not in hidden
    assert "secret_formula" in shown


def test_path_parameter_may_name_a_folder_of_tables(tmp_path):
    write_notebook(tmp_path / "notebooks" / "nb.ipynb", 'data_path = "data/demo"  # a file or a folder\noutput_dir = "."')
    (tmp_path / "data" / "demo").mkdir(parents=True)
    (tmp_path / "data" / "demo" / "survey.csv").write_text("x\n1\n")
    runs = expand_entry({"name": "a", "notebook": "notebooks/nb.ipynb"}, 0, tmp_path)
    check_runs(runs)
    assert fingerprint(runs[0].data["data_path"]).bytes == 4


def test_set_column_parameters_are_checked_against_the_data_header(tmp_path, monkeypatch, capsys):
    """A column the user names but the table lacks stops the batch before any kernel, with
    the closest names; a default the user did not set is left to the notebook to skip."""
    write_notebook(
        tmp_path / "notebooks" / "cols.ipynb",
        'data_path = "data/t.csv"  # the table\n'
        'arm_col = "arm"  # [column of data_path] arm of each row\n'
        'segment_col = "segment"  # [column of data_path] optional grouping (None: none)\n'
        'metrics = {"y": "continuous"}  # [metrics of data_path] column -> kind\n'
        'output_dir = "."  # results',
    )
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.csv").write_text("customer_id,group,y,dur,ev\nC1,a,1,2,1\n")
    cfg = tmp_path / "reports.yaml"
    monkeypatch.setattr(runner, "run_batch", lambda *a, **k: (_ for _ in ()).throw(AssertionError("kernel")))

    def report(params: str) -> int:
        cfg.write_text(f"runs:\n  - name: c\n    notebook: notebooks/cols.ipynb\n    parameters: {params}\n")
        return cli.main(["--config", str(cfg), "--output-root", str(tmp_path / "out")])

    assert report("{arm_col: grop, metrics: {y: continuous, t: [time_to_event, dur, evt]}}") == 2
    err = capsys.readouterr().err
    assert "'arm_col' names column 'grop'" in err and "closest: 'group'" in err and "Fix: set arm_col" in err
    assert "'metrics' names column 'evt'" in err and "'dur'" not in err.split("'evt'")[0]
    assert "segment_col" not in err  # the default 'segment' is absent but was not set by the user
    assert "columns of" in describe(tmp_path / "notebooks" / "cols.ipynb")


def test_one_notebook_runs_on_its_own_with_command_line_parameters(tmp_path, monkeypatch, capsys):
    """--notebook runs one notebook with --param values, outside reports.yaml (and its
    monitors); its parameters are checked like the config's, a wrong metric kind included."""
    make_project(tmp_path, [])
    write_notebook(tmp_path / "notebooks" / "m.ipynb",
                   'data_path = "data/t.csv"  # the table\nmetrics = {"x": "binary"}  # [metrics of data_path] kinds\n'
                   'output_dir = "."  # results')  # fmt: skip
    monkeypatch.chdir(tmp_path)
    seen = {}
    monkeypatch.setattr(runner, "run_batch", lambda runs, **kw: seen.update(runs=runs, **kw) or (_ for _ in ()).throw(
        ConfigError(["stop here"])))  # fmt: skip
    assert cli.main(["--notebook", "notebooks/m.ipynb", "-p", "metrics={x: continous}"]) == 2
    assert "metric 'x' has kind 'continous' (did you mean 'continuous'?)" in capsys.readouterr().err
    assert cli.main(["--notebook", "notebooks/m.ipynb", "-p", "metrics={x: continuous}"]) == 2  # reached run_batch
    (run,) = seen["runs"]
    assert run.name == "m" and run.parameters == {"metrics": {"x": "continuous"}} and run.monitor is None
    assert seen["update_latest"] is False
    assert cli.main(["--notebook", "/etc/passwd"]) == 2
    assert "inside the notebooks/ folder" in capsys.readouterr().err


# The dimensions notebook's survey parameters: refused by the library's own validators
# (engagement_kit.codebook, engagement_kit.measurement.dimensions_option_problems) before any kernel.
ITEMS = "enthusiasm_1,enthusiasm_2,enthusiasm_3,enthusiasm_4"
BOOK_HEAD = "item,scale,reverse,question,min,max\n"
BOOK_OK = BOOK_HEAD + "".join(f"enthusiasm_{i},enthusiasm,false,Q{i},1,7\n" for i in range(1, 5))
SURVEY_CASES = [
    ({"estimator": "gls"}, "'estimator' = 'gls'", "one of ml, mlm, mlr, wlsmv"),
    ({"missing": "pairwise"}, "'missing' = 'pairwise'", "('listwise', 'fiml')"),
    ({"estimator": "wlsmv", "missing": "fiml"}, "'missing' = 'fiml'", "use estimator='mlr' with missing='fiml'"),
    ({"estimator": "mlm", "missing": "fiml"}, "'missing' = 'fiml'", "'mlm' (Satorra-Bentler) needs complete data"),
    ({"ordinal_items": True, "missing": "fiml"}, "'missing' = 'fiml'", "estimator='wlsmv' reads complete rows"),
    ({"ordinal_items": ["nps"]}, "'ordinal_items' = ['nps']", "['nps'] are not items of any scale"),
    ({"scales": {"e": ["enthusiasm_1", "enthusiasm_2"]}, "ordinal_items": ["enthusiasm_3"]},
     "'ordinal_items' = ['enthusiasm_3']", "are not items of any scale"),
    ({"estimator": "wlsmv", "ordinal_items": ["enthusiasm_1"]}, "'estimator' = 'wlsmv'", "needs every CFA item ordinal"),
    ({"ordinal_items": 5}, "'ordinal_items' = 5", "True (all items), None or a list"),
    ({"codebook": "books/absent.txt"}, "'codebook': data file books/absent.txt not found", "engagement-kit codebook"),
    ({"codebook": 7}, "'codebook' = 7 is not a file path", "Fix: set codebook"),
    ({"codebook": "books/bad.yaml"}, "'codebook' = 'books/bad.yaml'", "not valid YAML"),
    ({"codebook": "books/no_reverse.csv"}, "'codebook' = 'books/no_reverse.csv'", "the field 'reverse' is missing"),
    ({"codebook": "books/twice.csv"}, "'codebook' = 'books/twice.csv'", "listed twice (rows 1 and 2)"),
    ({"codebook": "books/maybe.csv"}, "'codebook' = 'books/maybe.csv'", "reverse 'maybe' is not true or false"),
    ({"codebook": "books/empty_range.csv"}, "'codebook' = 'books/empty_range.csv'", "the range 5 to 1 is empty"),
    ({"codebook": "books/labels.csv"}, "'codebook' = 'books/labels.csv'", "label 'agree_9' has no code"),
    ({"codebook": "books/two_ranges.csv"}, "'codebook' = 'books/two_ranges.csv'", "2 answer ranges"),
    ({"codebook": "books/not_a_column.csv"}, "'codebook' = 'books/not_a_column.csv'", "'enthusiasm_9' is not a column"),
    ({"codebook": "books/book.json"}, "'codebook' = 'books/book.json'", "unknown codebook file type '.json'"),
    ({"codebook": "books/ok.csv", "ordinal_items": ["enthusiasm_1", "nps"]}, "'ordinal_items' = ['enthusiasm_1', 'nps']",
     "['nps'] are not items of any scale"),  # the codebook's items, not the default scales
]  # fmt: skip


def _survey_project(root: Path) -> None:
    """The dimensions notebook, a survey header with one default scale, and codebooks good and bad."""
    (root / "notebooks").mkdir(parents=True)
    (root / "notebooks" / "engagement_dimensions.ipynb").write_bytes(
        (REPO / "notebooks" / "engagement_dimensions.ipynb").read_bytes())
    (root / "data").mkdir()
    (root / "data" / "survey.csv").write_text(f"customer_id,{ITEMS},nps,touch_model,segment\nC1,1,2,3,4,9,a,b\n")
    books = root / "books"
    books.mkdir()
    for name, text in {
        "ok.csv": BOOK_OK,
        "bad.yaml": "- {item: enthusiasm_1, scale: [\n",
        "no_reverse.csv": BOOK_OK.replace(",reverse", "").replace(",false", ""),
        "twice.csv": BOOK_OK.replace("enthusiasm_2,", "enthusiasm_1,"),
        "maybe.csv": BOOK_OK.replace("false,Q3", "maybe,Q3"),
        "empty_range.csv": BOOK_OK.replace("Q2,1,7", "Q2,5,1"),
        "labels.csv": BOOK_OK.replace(",max\n", ",max,labels\n").replace(",1,7\n", ",1,7,agree_9\n"),
        "two_ranges.csv": BOOK_OK.replace("Q4,1,7", "Q4,1,5"),
        "not_a_column.csv": BOOK_OK.replace("enthusiasm_4,", "enthusiasm_9,"),
        "book.json": "[]",
    }.items():
        (books / name).write_text(text)


@pytest.mark.parametrize(("params", "named", "fix"), SURVEY_CASES)
def test_bad_survey_parameters_exit_2_before_any_kernel_and_keep_the_last_report(
        tmp_path, monkeypatch, capsys, params, named, fix):
    _survey_project(tmp_path)
    cfg = tmp_path / "reports.yaml"
    cfg.write_text(yaml.safe_dump({"runs": [{"name": "dims", "notebook": "notebooks/engagement_dimensions.ipynb",
                                             "parameters": {"data_path": "data/survey.csv", **params}}]}))
    previous = tmp_path / "out" / "latest.txt"
    previous.parent.mkdir()
    previous.write_text("20261130-0800")

    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel would have started")

    monkeypatch.setattr(runner, "run_batch", no_kernel)
    monkeypatch.setattr(runner, "execute_job", no_kernel)
    assert cli.main(["--config", str(cfg), "--output-root", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"error: {cfg}: run 'dims': parameter {named}" in err, err
    assert fix in err and "Traceback" not in err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["latest.txt"]
    assert previous.read_text() == "20261130-0800"


@pytest.mark.parametrize(
    "params",
    [{}, {"estimator": "mlr", "missing": "fiml"}, {"estimator": "MLM"}, {"ordinal_items": True},
     {"estimator": "wlsmv", "ordinal_items": ITEMS.split(",")}, {"ordinal_items": ["enthusiasm_1"]},
     {"codebook": "books/ok.csv", "ordinal_items": True, "estimator": "wlsmv"},
     {"codebook": "books/ok.csv", "scales": {"other": ["nps", "customer_id"]}, "ordinal_items": ["enthusiasm_2"]}],
)  # fmt: skip
def test_good_survey_parameters_pass_the_preflight(tmp_path, params):
    """The preflight refuses only what the library refuses (a codebook replaces scales)."""
    _survey_project(tmp_path)
    runs = expand_entry({"name": "dims", "notebook": "notebooks/engagement_dimensions.ipynb",
                         "parameters": {"data_path": "data/survey.csv", **params}}, 0, tmp_path)
    check_runs(runs)
    if "codebook" in params:
        assert runs[0].data["codebook"] == tmp_path / params["codebook"]  # fingerprinted by the cache
