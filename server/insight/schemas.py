from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from server.insight.webhook_urls import MAX_URL_LENGTH, check_webhook_url


class Webhooks(BaseModel):
    """Where a challenge's notifications go (organizers only; never shown to teams).

    In a PATCH, a field left out keeps its URL and a null removes it.
    """

    discord_url: str | None = Field(
        default=None,
        max_length=MAX_URL_LENGTH,
        description="A Discord channel webhook (https://discord.com/api/webhooks/...)",
        examples=["https://discord.com/api/webhooks/123/abc"],
    )
    slack_url: str | None = Field(
        default=None,
        max_length=MAX_URL_LENGTH,
        description="A Slack incoming webhook (https://hooks.slack.com/services/...); "
        "Mattermost and Rocket.Chat accept the same messages",
    )

    @field_validator("discord_url", "slack_url")
    @classmethod
    def _checked(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else check_webhook_url(value)


class WebhooksTestRead(BaseModel):
    queued: int = Field(description="Messages queued (one per configured webhook)")


class ShakeUpEntry(BaseModel):
    team: str
    public_rank: int | None = Field(description="Rank on the public board")
    private_rank: int | None = Field(description="Rank on the private (final) board")
    public_score: float | None = Field(description="The team's best public score")
    private_score: float | None = Field(description="The team's final (private) score")
    move: int | None = Field(description="public_rank - private_rank: positive when it climbed")
    gap: float | None = Field(
        description="How much worse the private score is than the public one, in metric "
        "units (positive: worse on the private rows; the sign follows the metric's direction)"
    )


class ShakeUp(BaseModel):
    challenge: str
    metric: str
    greater_is_better: bool
    state: str
    generated_at: datetime
    rank_correlation: float | None = Field(
        description="Spearman correlation of public and private ranks (1: no shake-up); "
        "null with fewer than 3 teams"
    )
    mean_gap: float | None = Field(description="Mean of the teams' gaps")
    explanation: str
    entries: list[ShakeUpEntry] = Field(description="Every team, in private-board order")
