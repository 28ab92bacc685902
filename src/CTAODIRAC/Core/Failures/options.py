"""The options of the failure-management agent, as one typed, validated model.

Each field's alias is the CS option name (``/Systems/Transformation/<Instance>/Agents/<Agent>/<Option>``) and
each field's docstring is the option's documentation; both are mirrored one-to-one in the system's
``ConfigTemplate.cfg`` (a test checks they agree). The rule table lives in the ``Rules`` subsection of the same
section (see :mod:`CTAODIRAC.Core.Failures.rules`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .classes import FailureClass
from .errors import OptionsError

__all__ = ["FailureAgentOptions"]


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class FailureAgentOptions(BaseModel):
    """Options of the failure-management agent (CS names are the aliases)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True)

    report_only: bool = Field(default=True, alias="ReportOnly")
    """Classify failures and record what would be done, but change nothing in DIRAC. Set False to act."""

    transformation_statuses: tuple[str, ...] = Field(
        default=("Active", "Idle", "Flush"), alias="TransformationStatuses"
    )
    """Transformations in these statuses are looked at (comma-separated)."""

    transformation_types: tuple[str, ...] = Field(default=(), alias="TransformationTypes")
    """Transformations of these types are looked at (comma-separated); empty: every type."""

    min_job_age: int = Field(default=900, ge=0, alias="MinJobAge")
    """Seconds a job must have stayed in its final status before its failure is handled, so that DIRAC can
    still reschedule it and the WorkflowTaskAgent (10 minutes) sees it first."""

    retry_killed_jobs: bool = Field(default=False, alias="RetryKilledJobs")
    """Whether the files of Killed jobs are retried; by default a kill is taken as deliberate and the failure is
    only recorded."""

    budget_infrastructure: int = Field(default=5, ge=0, alias="BudgetInfrastructure")
    """Failures of class infrastructure a file may have and still be retried; one more and it is given up."""

    budget_software: int = Field(default=3, ge=0, alias="BudgetSoftware")
    """Failures of class software a file may have and still be retried; one more and it is given up."""

    budget_input_data: int = Field(default=3, ge=0, alias="BudgetInputData")
    """Failures of class input-data a file may have and still be retried; one more and it is given up."""

    budget_output_upload: int = Field(default=5, ge=0, alias="BudgetOutputUpload")
    """Failures of class output-upload a file may have and still be retried; one more and it is given up."""

    budget_application: int = Field(default=1, ge=0, alias="BudgetApplication")
    """Failures of class application a file may have and still be retried; one more and it is given up."""

    budget_unknown: int = Field(default=2, ge=0, alias="BudgetUnknown")
    """Failures of class unknown a file may have and still be retried; one more and it is given up."""

    give_up_status: Literal["Problematic", "MaxReset"] = Field(default="Problematic", alias="GiveUpStatus")
    """File status set when a file is given up: Problematic or MaxReset."""

    site_ban_threshold: int = Field(default=3, ge=0, alias="SiteBanThreshold")
    """From this many failures of one class at one site in a transformation on, the retried files of each such
    failure are kept away from that site in their new tasks; 0 disables site avoidance."""

    site_ban_classes: tuple[FailureClass, ...] = Field(
        default=(
            FailureClass.INFRASTRUCTURE,
            FailureClass.SOFTWARE,
            FailureClass.INPUT_DATA,
            FailureClass.OUTPUT_UPLOAD,
        ),
        alias="SiteBanClasses",
    )
    """Failure classes that count towards avoiding a site (comma-separated)."""

    flush_transformations: bool = Field(default=True, alias="FlushTransformations")
    """Put into Flush a transformation whose parents are all Completed and whose Unused files are fewer than
    its group size."""

    complete_transformations: bool = Field(default=True, alias="CompleteTransformations")
    """Complete a transformation whose parents are all Completed and whose files are all processed or given
    up."""

    complete_productions: bool = Field(default=True, alias="CompleteProductions")
    """Complete an Active production whose transformations are all Completed."""

    act_without_parents: bool = Field(default=False, alias="ActOnTransformationsWithoutParents")
    """Also flush and complete transformations that have no parent transformation (their input may still
    grow from the catalog, so this is off by default)."""

    use_default_rules: bool = Field(default=True, alias="UseDefaultRules")
    """Start from the built-in rule table, changed by the Rules subsection; False: only the Rules subsection."""

    mail_to: tuple[str, ...] = Field(default=(), alias="MailTo")
    """Addresses (comma-separated) that get a digest of each cycle that recorded new decisions; empty: no
    mail."""

    mail_from: str = Field(default="", alias="MailFrom")
    """Sender address of the digest; empty: DIRAC's default sender."""

    @field_validator("transformation_statuses", "transformation_types", "mail_to", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("site_ban_classes", mode="before")
    @classmethod
    def _split_classes(cls, value: Any) -> Any:
        value = _split_csv(value)
        if isinstance(value, (tuple, list)):
            return tuple(item.strip().lower() if isinstance(item, str) else item for item in value)
        return value

    @field_validator("transformation_statuses", mode="after")
    @classmethod
    def _check_scope(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("empty: the agent would look at nothing")
        return value

    def budget(self, failure_class: FailureClass) -> int:
        """The retry budget of a failure class."""
        return {
            FailureClass.INFRASTRUCTURE: self.budget_infrastructure,
            FailureClass.SOFTWARE: self.budget_software,
            FailureClass.INPUT_DATA: self.budget_input_data,
            FailureClass.OUTPUT_UPLOAD: self.budget_output_upload,
            FailureClass.APPLICATION: self.budget_application,
            FailureClass.UNKNOWN: self.budget_unknown,
        }[failure_class]

    def in_scope(self, status: str, transformation_type: str) -> bool:
        """Whether a transformation of this status and type is looked at."""
        if status not in self.transformation_statuses:
            return False
        return not self.transformation_types or transformation_type in self.transformation_types

    @classmethod
    def cs_names(cls) -> tuple[str, ...]:
        """The CS option names, in declaration order."""
        return tuple(field.alias or name for name, field in cls.model_fields.items())

    @classmethod
    def documentation(cls) -> dict[str, tuple[str, Any]]:
        """CS option name to ``(docstring, default)``, for the ConfigTemplate and the docs."""
        return {
            field.alias or name: (field.description or "", field.default) for name, field in cls.model_fields.items()
        }

    @classmethod
    def from_cs(cls, section: Mapping[str, Any] | None) -> FailureAgentOptions:
        """Validate the options found in the agent's CS section (strings, as the CS gives them).

        Subsections (``Rules``) and options that are not this model's (``PollingTime``, ``LogLevel``...) are
        ignored; every option of this model that is absent takes its default.

        Raises
        ------
        OptionsError
            Naming each bad option and why.
        """
        names = set(cls.cs_names())
        values = {
            key: value for key, value in (section or {}).items() if key in names and not isinstance(value, Mapping)
        }
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                option = ".".join(str(part) for part in error.get("loc", ())) or "(options)"
                problems.append((option, f"{error.get('msg', 'invalid')} (got {error.get('input')!r})"))
            raise OptionsError(problems) from None
