"""`touchpoint`: check, test and try playbooks, chat in the terminal, serve."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bot.backtracking import slow_regexes
from bot.example_tests import run_examples
from bot.handler import Handler, HandlerSettings
from bot.matcher import MatchResult
from bot.memory_store import MemoryStore
from bot.playbooks import Background, Playbook, PlaybookErrors
from touchpoint import cli_support, logs, prompt_cli, review, shipped
from touchpoint.loader import SCHEDULE, read_documents
from touchpoint.review import print_errors
from touchpoint.settings import Settings, SettingsError

HISTORY = ".touchpoint_history"
"""The console's line history, in the home folder."""
INTERRUPTED = 130
"""The exit status of a command ended by Ctrl-C, as shells report it."""


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    loaded = cli_support.load_with_schedule(args, settings)
    if loaded is None:
        return 1
    library, scheduled = loaded
    triggers = sum(len(p.triggers) for p in library.playbooks)
    folder = cli_support.folder(args, settings)
    slow = slow_regexes(read_documents(folder)[0])
    if slow:
        print_errors(slow, args.format)
        return 1
    prompts = f", {len(scheduled)} channels in {SCHEDULE}" if (folder / SCHEDULE).is_file() else ""
    print(f"ok: {len(library.playbooks)} playbooks, {triggers} triggers in {folder}{prompts}")
    return 0


def cmd_test(args: argparse.Namespace, settings: Settings) -> int:
    library = cli_support.load(args, settings)
    if library is None:
        return 1
    failed = 0
    for report in run_examples(library):
        total = report.passed + len(report.failures)
        print(f"{'PASS' if report.ok else 'FAIL'} {report.playbook}: "
              f"{report.passed}/{total} examples")
        for failure in report.failures:
            print(f"  expected {failure.expected}, got {failure.got or 'nothing'}: "
                  f'"{failure.example}" ({failure.why})')
        for amb in report.ambiguities:
            print(f'  warning: "{amb.example}" matches both {amb.playbooks[0]} '
                  f"({amb.scores[0]:.2f}) and {amb.playbooks[1]} ({amb.scores[1]:.2f})")
        failed += not report.ok
    print(f"{len(library.playbooks) - failed} passed, {failed} failed")
    if args.changed or args.base:
        base, changed = None, list(args.changed or [])
        if args.base:
            try:
                base, differing = review.changed_against_base(library, args.base,
                                                              cli_support.folder(args, settings))
            except PlaybookErrors as exc:
                print(f"--base {args.base}: cannot load it:", file=sys.stderr)
                review.print_errors(exc.errors, "text")
                return 2
            changed = list(dict.fromkeys([*changed, *differing]))
            removed = [pid for pid in base.by_id if pid not in library.by_id]
            print(f"changed since {args.base}: {', '.join(changed) or 'no playbook'}"
                  + (f" (removed: {', '.join(removed)})" if removed else ""))
        for line in review.capture_report(library, changed, base):
            print(line)
    return 1 if failed else 0


def result_json(text: str, result: MatchResult, floor: float = 0.0) -> dict[str, object]:
    """The decision and every ranked candidate scoring `floor` or more, best first, so a
    script can measure top-2 or see how close the runner-up came."""
    top = result.best or (result.candidates[0] if result.candidates else None)
    return {
        "text": text,
        "mode": result.mode,
        "playbook": result.best.playbook if result.best else None,
        "score": top.score if top else 0.0,
        "why": [str(e) for e in top.why] if top else [],
        "candidates": [{"playbook": c.playbook, "score": c.score}
                       for c in result.candidates if c.score >= floor],
    }


def cmd_match(args: argparse.Namespace, settings: Settings) -> int:
    library = cli_support.load(args, settings)
    if library is None:
        return 1
    texts: Sequence[str] = [" ".join(args.text)] if args.text else (
        line.rstrip("\n") for line in sys.stdin  # type: ignore[assignment]
    )
    for text in texts:
        result = library.matcher.match(text, args.mode)
        if args.json:
            print(json.dumps(result_json(text, result, args.floor), ensure_ascii=False),
                  flush=False)
        elif result.best:
            print(f"{result.best.playbook}\t{result.best.score:.2f}\t"
                  + "; ".join(str(e) for e in result.best.why))
        else:
            near = ", ".join(f"{c.playbook} {c.score:.2f}" for c in result.candidates[:3])
            print(f"-\t\tno match{f' (closest: {near})' if near else ''}")
    return 0


def cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    from adapters import console

    library = cli_support.load(args, settings)
    if library is None:
        return 1
    handler = Handler(library, MemoryStore(),
                      HandlerSettings(nudge_cooldown=settings.nudge_cooldown,
                                      explain=args.explain))
    interactive = sys.stdin.isatty()
    if interactive:
        try:
            history: Path | None = Path.home() / HISTORY
        except RuntimeError:  # no home folder to keep it in: history for this session only
            history = None
        console.line_editing(history)
    banner = f"{len(library.playbooks)} playbooks from {cli_support.describe(args, settings)}.\n"
    ended = console.run(handler, interactive=interactive, banner=banner)
    return 0 if ended else INTERRUPTED


def schema_of(background: bool) -> dict[str, object]:
    model = Background if background else Playbook
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Touchpoint background chatter" if background else "Touchpoint playbook"
    return schema


def cmd_schema(args: argparse.Namespace, settings: Settings) -> int:
    print(json.dumps(schema_of(args.background), indent=2))
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from touchpoint.evaluate import evaluate, read_labelled

    library = cli_support.load(args, settings)
    if library is None:
        return 1
    try:
        items = read_labelled(Path(f) for f in args.files)
    except (OSError, ValueError) as exc:
        print(exc, file=sys.stderr)
        return 1
    scores = evaluate(library.matcher, items)
    if args.verbose:
        for text, expected, got in scores.misses:
            print(f"guide miss: expected {expected}, got {got}: {text}")
        for text, expected, got in scores.false_nudges:
            print(f"false nudge: expected {expected}, nudged {got}: {text}")
    print(scores.summary())
    if args.by_playbook:
        print(scores.by_situation())
    return 0


def cmd_diff(args: argparse.Namespace, settings: Settings) -> int:
    return review.cmd_diff(args, cli_support.folder(args, settings))


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    from touchpoint.stats import cmd_stats as stats

    return stats(args, settings, cli_support.folder(args, settings))


def cmd_suggest(args: argparse.Namespace, settings: Settings) -> int:
    from touchpoint.suggest import cmd_suggest as suggest

    return suggest(args, settings, cli_support.folder(args, settings))


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from touchpoint import server

    if args.playbooks:
        settings = replace(settings, playbooks=Path(args.playbooks), playbooks_origin="--playbooks")
    port = args.port if args.port is not None else settings.port
    if args.socket_mode and not (settings.slack_bot_token and settings.slack_app_token):
        print("--socket-mode needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN (an app-level token "
              "with the connections:write scope, xapp-...)", file=sys.stderr)
        return 2
    try:
        asyncio.run(server.serve(settings, args.host, port, socket_mode_only=args.socket_mode))
    except PlaybookErrors as exc:
        print_errors(exc.errors, "text")
        return 1
    return 0


def cmd_preview(args: argparse.Namespace, settings: Settings) -> int:
    from touchpoint.web.app import preview

    if args.playbooks:
        settings = replace(settings, playbooks=Path(args.playbooks), playbooks_origin="--playbooks")
    port = args.port if args.port is not None else settings.port
    try:
        asyncio.run(preview(settings, args.host, port))
    except PlaybookErrors as exc:
        print_errors(exc.errors, "text")
        return 1
    return 0


def cmd_teams_package(args: argparse.Namespace, settings: Settings) -> int:
    from importlib import metadata

    from adapters.teams import package as teams_package

    try:
        version = metadata.version("touchpoint")
    except metadata.PackageNotFoundError:
        version = "1.0.0"
    values = teams_package.PackageValues(
        app_id=args.app_id or settings.microsoft_app_id,
        website_url=args.website_url, privacy_url=args.privacy_url, terms_url=args.terms_url,
        developer_name=args.developer_name, version=args.version or version,
    )
    source = Path(args.source) if args.source else shipped.folder("teams")
    try:
        data = teams_package.build(values, source)
    except teams_package.PackageError as exc:
        print(exc, file=sys.stderr)
        return 2
    output = Path(args.output)
    output.write_bytes(data)
    print(f"wrote {output} (app {values.app_id}, version {values.version}); upload it in the "
          "Teams admin center or Teams > Apps > Manage your apps")
    return 0


def _score(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"a score is between 0 and 1, not {value}")
    return number


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="touchpoint", description=__doc__)
    top.add_argument("--playbooks", help="playbook folder (default: $TOUCHPOINT_PLAYBOOKS, "
                     "else ./playbooks, else the playbooks shipped with Touchpoint)")
    sub = top.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="validate the playbooks")
    check.add_argument("dir", nargs="?")
    check.add_argument("--format", choices=("text", "github"), default="text",
                       help="github: also print each error as a GitHub Actions annotation")
    check.set_defaults(run=cmd_check)
    test = sub.add_parser("test", help="run every playbook's examples")
    test.add_argument("dir", nargs="?")
    test.add_argument("--changed", action="append", metavar="ID",
                      help="report the other playbooks' examples this playbook captures "
                      "(repeatable)")
    test.add_argument("--base", metavar="DIR|REV",
                      help="compare with this folder or git revision: report what each "
                      "changed playbook newly captures")
    test.set_defaults(run=cmd_test)
    diff = sub.add_parser("diff", help="messages that match differently between two sets")
    diff.add_argument("old", help="a folder, a git revision of the playbook folder, or REV:DIR")
    diff.add_argument("new", help="the same, for the new set")
    diff.add_argument("--messages", action="append", metavar="FILE",
                      help="more messages: JSON lines with a text field, or plain lines "
                      "(default: every example of both sets)")
    diff.add_argument("--mode", choices=("guide", "nudge", "both"), default="both")
    diff.add_argument("--json", action="store_true", help="one JSON object per change")
    diff.add_argument("--exit-code", action="store_true", help="exit 1 when anything changed")
    diff.set_defaults(run=cmd_diff)
    stats = sub.add_parser("stats", help="usage per playbook and week, from REDIS_URL's store")
    stats.add_argument("--weeks", type=int, default=4, help="this week and the ones before "
                       "(default 4)")
    stats.add_argument("--questions", type=int, default=20,
                       help="unanswered questions to list (default 20)")
    stats.add_argument("--json", action="store_true", help="for scripts")
    stats.add_argument("--team", default="", help="with Slack installs: one workspace's usage "
                       "(T0123ABCD, or E0123ABCD:T0123ABCD); default: what no workspace "
                       "counted (one workspace, Teams)")
    stats.set_defaults(run=cmd_stats)
    suggest = sub.add_parser("suggest", help="a patch adding the answers to 'Not helpful' and "
                             "the unanswered questions (from REDIS_URL's store) as examples")
    suggest.add_argument("--weeks", type=int, default=12, help="this week and the ones "
                         "before (default 12)")
    suggest.add_argument("--no-questions", action="store_true",
                         help="only the answers to 'Not helpful', not unanswered questions")
    suggest.add_argument("-o", "--output", metavar="FILE",
                         help="write the patch here (default: standard output, with the "
                         "report on standard error)")
    suggest.add_argument("--playbooks", dest="playbooks", default=argparse.SUPPRESS)
    suggest.set_defaults(run=cmd_suggest)
    match = sub.add_parser("match", help="which playbook a message matches")
    match.add_argument("--mode", choices=("guide", "nudge"), default="guide")
    match.add_argument("--json", action="store_true", help="one JSON object per message")
    match.add_argument("--floor", type=_score, default=0.0,
                       help="--json lists candidates scoring at least this (0-1; default: "
                       "all the matcher ranks, from its suggestion floor up)")
    match.add_argument("--playbooks", dest="playbooks", default=argparse.SUPPRESS)
    match.add_argument("text", nargs="*", help="the message; none: one per line on stdin")
    match.set_defaults(run=cmd_match)
    console = sub.add_parser("console", help="chat with the bot in the terminal")
    console.add_argument("--explain", action="store_true",
                         help="show the matcher's full evidence (scores, triggers, learnt "
                         "words) under each answer, not only the one line people see")
    console.set_defaults(run=cmd_console)
    evaluation = sub.add_parser("eval", help="score the matcher on labelled JSONL messages")
    evaluation.add_argument("files", nargs="+", 
                            help='JSONL lines {"text": ..., "expected": id|null}')
    evaluation.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    evaluation.add_argument("--by-playbook", action="store_true",
                            help="also guide accuracy and nudge recall per expected playbook")
    evaluation.set_defaults(run=cmd_eval)
    serve = sub.add_parser("serve", help="run the HTTP server (Slack, Teams, webhooks)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    serve.add_argument("--socket-mode", action="store_true",
                       help="Slack through Socket Mode only, no /slack/events route")
    serve.set_defaults(run=cmd_serve)
    preview = sub.add_parser("preview", help="only the manager page (try it, playbooks, "
                             "analytics, schedule), on an in-memory store, no Slack or Teams")
    preview.add_argument("--host", default="127.0.0.1")
    preview.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    preview.set_defaults(run=cmd_preview)
    package = sub.add_parser("teams-package", help="write the Teams app package (zip) "
                             "for a Teams admin to upload")
    package.add_argument("--app-id", help="the bot's Microsoft app id (default: $MicrosoftAppId)")
    package.add_argument("--website-url", default="", help="https page about the bot for your "
                         "people (required; shown on the app's About tab)")
    package.add_argument("--privacy-url", default="", help="default: the website URL")
    package.add_argument("--terms-url", default="", help="default: the website URL")
    package.add_argument("--developer-name", default="Touchpoint",
                         help="who publishes the app in your tenant")
    package.add_argument("--version", help="app version (default: Touchpoint's version); "
                         "raise it to update an uploaded app")
    package.add_argument("--source", help="folder with manifest.json and the icons "
                         "(default: the teams/ folder shipped with Touchpoint)")
    package.add_argument("-o", "--output", default="touchpoint-teams.zip")
    package.set_defaults(run=cmd_teams_package)
    prompt_cli.add_parsers(sub)
    schema = sub.add_parser("schema", help="print the playbook JSON Schema")
    schema.add_argument("--background", action="store_true",
                        help="the schema of background.yaml instead")
    schema.set_defaults(run=cmd_schema)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_text)
    try:
        code: int = args.run(args, settings)
        sys.stdout.flush()
    except KeyboardInterrupt:
        # Ctrl-C while loading or reading stdin: stop quietly; a traceback helps no one.
        print(file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`touchpoint stats | head`): stop quietly, as `cat` would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
