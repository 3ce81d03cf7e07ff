"""The default checkpoint catalogue, loaded by a data migration; admins edit it after.

Each entry: code, name, NIST AI RMF function, the stage it gates, when it applies,
the days a review usually takes, and a description a reviewer can act on.
"""

ALWAYS = {}
PERSONAL_DATA = {"requires_personal_data": True}
AGENTIC = {"min_autonomy_level": "human_on_the_loop"}

DEFAULT_CATALOGUE = (
    ("risk-classification", "EU AI Act risk classification", "map", "assessment", ALWAYS, 5,
     "Confirm the initiative's EU AI Act tier from its use case: check it against the "
     "prohibited practices (Art. 5) and the high-risk list (Annex III). Evidence: the "
     "completed classification questionnaire, signed by the owner."),
    ("security-review", "Security review", "manage", "pilot", ALWAYS, 10,
     "Threat-model the system: prompt injection, data exfiltration through tools and "
     "outputs, secrets handling, vendor access and network paths. Evidence: the threat model "
     "and the penetration or red-team findings with their fixes."),
    ("privacy-review", "Privacy and data-leakage review", "map", "pilot", PERSONAL_DATA, 15,
     "Check the lawful basis and minimisation of the personal data used, retention, where "
     "prompts and outputs are stored, and whether the vendor trains on them. Evidence: the "
     "DPIA and the vendor's data-processing terms."),
    ("compliance-review", "Compliance and regulatory review", "govern", "pilot",
     {"min_risk_tier": "limited"}, 20,
     "Map the obligations of the initiative's tier (transparency notices for limited risk; "
     "risk management, logging, human oversight and conformity for high risk) and sector "
     "rules. Evidence: the obligations register with an owner for each."),
    ("ip-licensing", "IP and licensing review", "govern", "pilot", ALWAYS, 7,
     "Check the model's licence and acceptable-use policy, the rights to the data used for "
     "prompts, fine-tuning or retrieval, and who owns the outputs. Evidence: the licence "
     "register entries and legal's note."),
    ("evaluation-plan", "Evaluation plan and quality metrics", "measure", "pilot", ALWAYS, 7,
     "Agree the test set, the quality metrics (accuracy, hallucination rate, task success) "
     "and the thresholds the pilot must meet. Evidence: the evaluation plan and a baseline "
     "run."),
    ("bias-fairness", "Bias and fairness evaluation", "measure", "production",
     {"min_risk_tier": "limited"}, 15,
     "Measure outcomes across the groups the system affects, with the pilot's data; "
     "document disparities and the mitigations. Evidence: the fairness report and sign-off."),
    ("observability", "Observability and monitoring", "manage", "production", ALWAYS, 7,
     "Traces of prompts, tool calls and outputs; dashboards and alerts on quality, cost, "
     "latency and drift. Evidence: links to the dashboards and the alert rules."),
    ("prompt-model-versioning", "Prompt and model version management", "manage", "production",
     ALWAYS, 5,
     "Prompts, model versions and retrieval indexes are versioned and released like code, "
     "with an evaluation run on each change. Evidence: the repository and the release "
     "checklist."),
    ("operational-runbook", "Operational support and runbook", "manage", "production", ALWAYS,
     7,
     "A named support team, an on-call rota, a runbook for the known failure modes and a "
     "vendor escalation path. Evidence: the runbook and the support agreement."),
    ("feedback-loop", "Feedback loop", "measure", "production", ALWAYS, 5,
     "Users can flag bad outputs; flags are triaged and feed the evaluation set. Evidence: "
     "the feedback channel and the triage routine."),
    ("reliability-rollback", "Reliability controls and rollback", "manage", "production",
     ALWAYS, 7,
     "Timeouts, rate limits, fallbacks when the model is unavailable, and a tested way to "
     "switch the AI off or roll back a version. Evidence: the rollback drill's record."),
    ("human-oversight", "Human oversight and escalation", "govern", "pilot", AGENTIC, 10,
     "Which actions need a human's approval, who watches the agent, how a person takes over "
     "and how cases escalate. Evidence: the oversight design and the escalation matrix."),
    ("autonomy-boundaries", "Autonomy boundaries and decision validation", "map", "pilot",
     AGENTIC, 10,
     "The agent's permitted tools, spending and data limits, and the checks that validate "
     "each decision before it takes effect. Evidence: the permission manifest and the "
     "validation tests."),
    ("failure-recovery", "Failure recovery", "manage", "production", AGENTIC, 10,
     "How partial or wrong actions are detected, compensated and reported; idempotent "
     "retries; a kill switch. Evidence: the recovery playbook and a game-day record."),
)


def load_default_catalogue(checkpoint_type_model) -> None:
    """Create the default types that are missing; an admin's edits to existing ones stay."""
    for code, name, nist, required_for, conditions, days, description in DEFAULT_CATALOGUE:
        checkpoint_type_model.objects.get_or_create(code=code, defaults={
            "name": name, "nist_function": nist, "required_for": required_for,
            "review_days": days, "description": description, **conditions,
        })
