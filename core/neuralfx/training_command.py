"""The options of a ``neuralfx train`` command, from its trainer's config dataclass (or the
configs of several models of one effect, chosen by ``--model``). Light at import: click is
imported when a command is built. ``neuralfx.training.command`` and ``config_of`` are these."""

from __future__ import annotations


def command(config: type, *variants: type):
    """The options of a ``neuralfx train`` command: the fields of its ``config`` dataclass
    declared with :func:`neuralfx.params.field` (one declaration for the defaults, the checks
    and ``--help``), then --device, --fresh and --progress. The callback gets the config's
    values as text (None where not given: :func:`neuralfx.params.from_text` makes the config)
    and ``device``, ``fresh``, ``progress``.

    With ``variants``, configs of the effect's other models (each config names its model in a
    ``MODEL`` class attribute, ``config``'s being the default): a ``--model`` option chooses,
    the options are all the configs' fields, each said with the models it applies to and its
    default for each, and :func:`config_of` makes the chosen model's config."""
    import click

    from .params import fields_of

    configs = (config, *variants)
    options = _merged_options(configs) if variants else [
        p.click_option() for p in fields_of(config)
    ]  # fmt: skip
    if variants:
        models = [c.MODEL for c in configs]
        options.insert(0, click.Option(
            ["--model"], type=click.Choice(models), default=models[0], show_default=True,
            help="Which model to train; each option below says the models it applies to.",
        ))  # fmt: skip
    options += [
        click.Option(
            ["--device"], default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps."
        ),
        click.Option(["--fresh"], is_flag=True, help="Start over even if a resumable run exists."),
        click.Option(
            ["--progress"],
            type=click.Choice(["auto", "bar", "json", "none"]),
            default="auto",
            show_default=True,
        ),
    ]

    def decorate(callback):
        # as click's own option decorators do: the command reads them in reverse
        memo = callback.__dict__.setdefault("__click_params__", [])
        memo.extend(reversed(options))
        return callback

    return decorate


def _merged_options(configs: tuple[type, ...]) -> list:
    """One option per field name over ``configs``: the first declaration's, with each model's
    help where they differ, the models it applies to (unless all), and each model's default
    where they differ."""
    from .params import fields_of

    by_name: dict[str, list] = {}
    for config in configs:
        for p in fields_of(config):
            by_name.setdefault(p.name, []).append((config.MODEL, p))
    options = []
    for declared in by_name.values():
        first = declared[0][1]
        option = first.click_option()
        text = option.help.rsplit(" (default: ", 1)[0] if first.default is not None else option.help
        if len({p.help for _, p in declared}) > 1:
            text = text.replace(
                first.help, " ".join(f"--model {model}: {p.help}" for model, p in declared), 1
            )
        if len(declared) < len(configs):
            text += " (with --model " + " or ".join(model for model, _ in declared) + ")"
        defaults = {model: _shown(p) for model, p in declared if p.default is not None}
        if len(set(defaults.values())) > 1:
            text += " (default: " + "; ".join(
                f"{value} with --model {model}" for model, value in defaults.items()
            ) + ")"  # fmt: skip
        elif defaults:
            text += f" (default: {next(iter(defaults.values()))})"
        option.help = text
        options.append(option)
    return options


def _shown(param) -> str:
    """A default as ``--help`` shows it (on/off for a flag)."""
    if param.kind == "bool":
        return "on" if param.default else "off"
    return str(param._json_default())


def config_of(configs: tuple[type, ...], given: dict):
    """The config of the model chosen by ``--model`` (see :func:`command`) from the command's
    values; an option of another model is refused, naming the models it applies to."""
    from .errors import ParameterError
    from .params import fields_of, from_text

    model = given.pop("model", None) or configs[0].MODEL
    chosen = next(c for c in configs if c.MODEL == model)
    names = {p.name for p in fields_of(chosen)}
    for name, value in given.items():
        if name not in names and value not in (None, ()):
            owners = [c.MODEL for c in configs if name in {p.name for p in fields_of(c)}]
            raise ParameterError(
                f"--{name.replace('_', '-')} does not apply to --model {model}",
                hint="it is an option of --model " + " or ".join(owners),
            )
    return from_text(chosen, {k: v for k, v in given.items() if k in names})
