"""Slack's App Home tab and the "Find a playbook for this message" message shortcut.

Pure translation (`from_shortcut`, `home_view`) plus the two Web API calls the Home tab
needs: `users.conversations` (which channels the person can see) and `views.publish`.
The shortcut's answer goes the way every private answer goes (`slack_blocks.plan`):
chat.postEphemeral in the channel, through `response_url` when the bot is not a member.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import escape, render
from adapters.slack.payloads import Incoming, action_id, decode_text, field_map, field_str
from adapters.slack.web import NETWORK_ERRORS, api_error
from bot.admin import Admins
from bot.events import ShortcutAsked
from bot.home import Home, build_home
from bot.playbooks import Playbook
from bot.store import Store

log = logging.getLogger("touchpoint.slack")

SHORTCUT_ID = "touchpoint_find_playbook"
"""The message shortcut's `callback_id` (slack/manifest.yaml)."""
MAX_PLAYBOOKS = 40
"""A home view holds 100 blocks; the rest are listed, not each given a button."""
MAX_CHANNEL_PAGES = 5

Block = dict[str, Any]


def from_shortcut(body: Mapping[str, Any], bot_user: str = "") -> Incoming | None:
    """A `message_action` on any message: the core is asked, privately, about its text."""
    if body.get("type") != "message_action" or body.get("callback_id") != SHORTCUT_ID:
        return None
    user = field_str(field_map(body, "user"), "id")
    channel = field_str(field_map(body, "channel"), "id")
    message = field_map(body, "message")
    if not user or not channel:
        return None
    thread = field_str(message, "thread_ts")
    return Incoming(
        ShortcutAsked(text=decode_text(field_str(message, "text"), bot_user), user=user,
                      channel=channel, platform="slack", id=field_str(body, "trigger_id"),
                      thread=thread),
        threaded=bool(thread), direct=channel.startswith("D"),
        response_url=field_str(body, "response_url"))


def home_opened_user(body: Mapping[str, Any]) -> str:
    """The person who opened the Home tab; "" for the Messages tab or anything else."""
    event = field_map(body, "event")
    if event.get("type") != "app_home_opened" or event.get("tab") != "home":
        return ""
    return field_str(event, "user")


def home_view(home: Home) -> dict[str, Any]:
    """The Home tab as a `home` view: Block Kit, every text escaped like any answer."""
    blocks: list[Block] = [_header("Touchpoint"), _text(
        "Coaching at the moment you touch a customer. Ask with /touchpoint <what happened>, "
        "or use *Find a playbook for this message* on any message.", verbatim=False)]
    if home.unavailable:
        blocks.append(_text("Your switches and subscriptions cannot be read just now; "
                            "open this tab again in a minute."))
    mute = ("Unmute my nudges", "unmute") if home.muted else ("Mute my nudges", "mute")
    blocks.append(_text("Your nudges: " + ("muted. I won't nudge you in channels."
                                           if home.muted else "on."),
                        accessory=_button(mute[0], mute[1], "", 0)))
    blocks += [{"type": "divider"}, _header("Playbooks")]
    for index, playbook in enumerate(home.playbooks[:MAX_PLAYBOOKS], start=1):
        blocks.append(_text(f"*{escape(playbook.title)}*\n{escape(playbook.summary)}",
                            accessory=_button("Open", "show", playbook.id, index), raw=True))
    rest = home.playbooks[MAX_PLAYBOOKS:]
    if rest:
        blocks.append(_text("Also: " + ", ".join(p.id for p in rest)))
    blocks += [{"type": "divider"}, _header("Your channels")]
    blocks.append(_list("Daily prompts", home.subscriptions, "none in channels you are in"))
    blocks.append(_list("Weekly digests", home.digests, "none"))
    blocks.append(_list("Nudges switched off", home.nudges_off, "in none of your channels"))
    if home.stats is not None:
        blocks += [{"type": "divider"}, _header("This week (admins)")]
        blocks += render(home.stats)["blocks"][: 100 - len(blocks)]
    return {"type": "home", "callback_id": "touchpoint_home", "blocks": blocks[:100]}


async def visible_channels(client: AsyncWebClient, user: str) -> set[str] | None:
    """The conversations `user` is a member of, or None when Slack would not say."""
    found: set[str] = set()
    cursor = ""
    try:
        for _ in range(MAX_CHANNEL_PAGES):
            page = await client.users_conversations(
                user=user, types="public_channel,private_channel", exclude_archived=True,
                limit=200, cursor=cursor or None)
            channels = page.get("channels")
            for channel in channels if isinstance(channels, list) else []:
                if isinstance(channel, Mapping) and isinstance(channel.get("id"), str):
                    found.add(channel["id"])
            meta = page.get("response_metadata")
            cursor = str(meta.get("next_cursor") or "") if isinstance(meta, Mapping) else ""
            if not cursor:
                break
    except SlackApiError as exc:
        log.warning("slack: users.conversations failed (%s); the Home tab shows no channels",
                    api_error(exc))
        return None
    except NETWORK_ERRORS as exc:
        log.warning("slack: users.conversations unreachable (%s)", type(exc).__name__)
        return None
    return found


async def publish_home(client: AsyncWebClient, home: Home, user: str) -> bool:
    try:
        await client.views_publish(user_id=user, view=home_view(home))
    except SlackApiError as exc:
        error = api_error(exc)
        hint = " (enable the Home tab: features.app_home.home_tab_enabled in the manifest)" \
            if error == "not_enabled" else ""
        log.warning("slack: views.publish for %s failed: %s%s", user, error, hint)
        return False
    except NETWORK_ERRORS as exc:
        log.warning("slack: views.publish unreachable (%s)", type(exc).__name__)
        return False
    return True


async def show_home(client: AsyncWebClient, store: Store, playbooks: Sequence[Playbook],
                    admins: Admins, user: str, now: float) -> bool:
    """Build `user`'s Home tab from the store and publish it."""
    channels = await visible_channels(client, user)
    home = await build_home(store, tuple(playbooks), admins, "slack", user, channels, now)
    return await publish_home(client, home, user)


def from_home(body: Mapping[str, Any]) -> bool:
    """A button pressed on the Home tab (its answers go to the person's chat with the bot)."""
    view = field_map(body, "view")
    return body.get("type") == "block_actions" and view.get("type") == "home"


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def _text(mrkdwn: str, *, accessory: Block | None = None, verbatim: bool = True,
          raw: bool = False) -> Block:
    text = mrkdwn if raw or not verbatim else escape(mrkdwn)
    block: Block = {"type": "section",
                    "text": {"type": "mrkdwn", "text": text[:3000], "verbatim": verbatim}}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def _list(title: str, lines: tuple[str, ...], empty: str) -> Block:
    shown = "\n".join("\u2022 " + escape(line) for line in lines[:30]) or escape(empty)
    return _text(f"*{escape(title)}*\n{shown}", raw=True)


def _button(label: str, action: str, value: str, index: int) -> Block:
    return {"type": "button", "action_id": action_id(action, index),
            "text": {"type": "plain_text", "text": label[:75], "emoji": True},
            "value": value[:2000]}
