"""The demo portfolio's content: people, teams, initiatives and how their year went.

Data only; ``manage.py seed_demo`` turns it into rows through the services.
"""

from portfolio.models import (
    IMPACT_CHOICES,
    AutonomyLevel,
    Category,
    Health,
    MetricDirection,
    RetirementReason,
    RiskTier,
    Stage,
    ValueDecision,
)
from portfolio.roles import ROLE_LABELS, Role, home_page_for

DEMO_PASSWORD = "demo-portfolio-2026"
SEED = 2026
MIN_DAYS_PER_STAGE = 21  # the shortest a planned stage lasts, so history reads plausibly

# --- People -------------------------------------------------------------------------------
# (username, first name, last name, role group). Engineers hold the pm group: they log
# and keep current the initiatives they own or are Responsible for.
PEOPLE = (
    ("pm", "Priya", "Menon", Role.PM),
    ("pm2", "Daniel", "Okafor", Role.PM),
    ("reviewer", "Grace", "Liu", Role.REVIEWER),
    ("tpm", "Marcus", "Webb", Role.TPM),
    ("leader", "Elena", "Rossi", Role.LEADERSHIP),
    ("sofia.alvarez", "Sofia", "Alvarez", Role.PM),
    ("tom.becker", "Tom", "Becker", Role.PM),
    ("aisha.rahman", "Aisha", "Rahman", Role.PM),
    ("kenji.sato", "Kenji", "Sato", Role.PM),
    ("laura.fischer", "Laura", "Fischer", Role.PM),
    ("olivia.grant", "Olivia", "Grant", Role.PM),
    ("lukas.brandt", "Lukas", "Brandt", Role.PM),
    ("chen.wei", "Chen", "Wei", Role.PM),
    ("fatima.noor", "Fatima", "Noor", Role.PM),
    ("jonas.lindqvist", "Jonas", "Lindqvist", Role.PM),
    ("maya.patel", "Maya", "Patel", Role.PM),
    ("ravi.kumar", "Ravi", "Kumar", Role.PM),
    ("zoe.martin", "Zoe", "Martin", Role.PM),
    ("nadia.haddad", "Nadia", "Haddad", Role.PM),
    ("hannah.schmidt", "Hannah", "Schmidt", Role.REVIEWER),
    ("ines.moreau", "Ines", "Moreau", Role.REVIEWER),
    ("noah.kim", "Noah", "Kim", Role.TPM),
    ("catherine.doyle", "Catherine", "Doyle", Role.LEADERSHIP),
    ("robert.hughes", "Robert", "Hughes", Role.LEADERSHIP),
)
ADMIN = ("admin", "Alex", "Morgan")
# Left the company after the history below; still owns initiatives (an ownership gap).
LEFT_COMPANY = "lukas.brandt"
# The demo logins: the only accounts the demo password opens (everyone else in PEOPLE
# has no usable password). `seed_demo` prints them, `make run` (bin/run-local) shows what
# it printed, and tests/portfolio/test_seed_demo.py holds the README's table to them.
DEMO_LOGINS = ("pm", "pm2", "reviewer", "tpm", "leader", ADMIN[0])
ADMIN_LABEL = "Admin (staff)"


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, role, where they land after signing in) of each demo login, read from
    ``PEOPLE`` and the pages each role lands on (``roles.home_page_for``)."""
    roles = {username: role for username, _, _, role in PEOPLE}
    logins = []
    for username in DEMO_LOGINS:
        if username == ADMIN[0]:
            logins.append((username, ADMIN_LABEL, "Django admin"))
            continue
        home = home_page_for({roles[username]})
        logins.append((username, ROLE_LABELS[roles[username]], home.label if home else
                       "All initiatives"))
    return logins

# --- Teams --------------------------------------------------------------------------------
TEAMS = (
    ("customer-operations", "Customer Operations",
     "Contact centres, returns and customer care across all regions."),
    ("finance-automation", "Finance Automation",
     "Accounts payable, month-end close, treasury and audit."),
    ("data-platform", "Data Platform",
     "Shared data, ML and LLM platform services for every team."),
    ("sales-enablement", "Sales Enablement",
     "Tools and insight for account teams and partners."),
    ("people-hr", "People & HR", "Hiring, onboarding, learning and employee services."),
    ("security-engineering", "Security Engineering",
     "Security operations, application security and identity."),
    ("supply-chain", "Supply Chain", "Planning, procurement, warehousing and logistics."),
)
# team -> (engineers who are Responsible and run things in production, sponsor, TPM)
TEAM_STAFF = {
    "customer-operations": (("chen.wei", "zoe.martin"), "robert.hughes", "tpm"),
    "finance-automation": (("ravi.kumar",), "catherine.doyle", "noah.kim"),
    "data-platform": (("maya.patel", "chen.wei"), "leader", "tpm"),
    "sales-enablement": (("zoe.martin",), "leader", "noah.kim"),
    "people-hr": (("ravi.kumar", "maya.patel"), "leader", "noah.kim"),
    "security-engineering": (("fatima.noor", "ravi.kumar"), "leader", "tpm"),
    "supply-chain": (("jonas.lindqvist",), "robert.hughes", "tpm"),
}
# Consulted on initiatives with personal data or above minimal risk ("hannah.schmidt"
# elsewhere too). Segregation of duties keeps the Consulted reviewer from deciding their
# checkpoints, so the demo reviewer ("reviewer") is never the one Consulted.
CONSULTED_REVIEWERS = {"security-engineering": "hannah.schmidt"}
CONSULTED_DEFAULT = "hannah.schmidt"
# Responsible besides the team's engineer: the demo PM helps a colleague's initiative whose
# evaluation plan was rejected (governance/demo.py), so the rejection waits in their inbox.
ALSO_RESPONSIBLE = {"Knowledge base gap finder": ("pm",)}


def consulted_reviewer(initiative) -> str | None:
    """The username Consulted on ``initiative`` (None: nobody), as ``seed_demo`` names them."""
    if initiative.uses_personal_data or initiative.risk_tier != RiskTier.MINIMAL:
        return CONSULTED_REVIEWERS.get(initiative.team.slug, CONSULTED_DEFAULT)
    return None


# --- Notifications: chat channels the admins configured -----------------------------------
# The Slack host admins allowed, and one channel they set up and switched off: admins see
# how a channel looks; nothing is ever posted from the demo (the URL is not a real hook).
WEBHOOK_HOSTS = ("hooks.slack.com",)
CHAT_CHANNELS = (
    ("customer-operations", "slack", "#cx-ai-reviews",
     "https://hooks.slack.com/services/T0000/B0000/demo-not-a-real-hook"),
)

# --- Initiatives --------------------------------------------------------------------------
COPILOT = Category.INTERNAL_COPILOT
AUTOMATION = Category.WORKFLOW_AUTOMATION
SUPPORT = Category.CUSTOMER_SUPPORT_AI
ANALYTICS = Category.AI_ANALYTICS
AGENTIC = Category.AGENTIC_WORKFLOW
PLATFORM = Category.PRODUCTIVITY_PLATFORM
RECOMMENDER = Category.RECOMMENDATION_SYSTEM
OTHER = Category.OTHER

# team -> (title, category, route, owner, summary). The route names the stages the
# initiative reached in order ("pilot>paused"); forward moves are walked one step at a time.
PORTFOLIO = (
    ("customer-operations", (
        ("Support ticket triage and routing", SUPPORT, "scaled", "pm",
         "Classify inbound tickets by intent, language and urgency and route them to the right "
         "queue, cutting first-response time and misroutes."),
        ("Agent reply drafting copilot", SUPPORT, "production", "pm",
         "Draft replies for support agents from the knowledge base and the ticket history; "
         "agents edit and send, nothing goes out unreviewed."),
        ("Self-service returns chatbot", SUPPORT, "pilot", "pm",
         "Let customers start, track and change returns in chat on the web shop, handing over "
         "to an agent with the full context when they get stuck."),
        ("Call summarisation and wrap-up notes", SUPPORT, "pilot", "pm",
         "Summarise recorded calls into structured wrap-up notes so agents spend less time on "
         "after-call work."),
        ("Knowledge base gap finder", ANALYTICS, "assessment", "aisha.rahman",
         "Cluster unresolved tickets against knowledge-base articles to show which answers are "
         "missing or out of date."),
        ("Emotion recognition for call-centre agents", ANALYTICS, "assessment", "aisha.rahman",
         "Infer agents' and callers' emotions from voice to coach agents in real time. Flagged "
         "by legal: emotion recognition at work is prohibited under the EU AI Act."),
        ("Voice of the customer theme mining", ANALYTICS, "production", "aisha.rahman",
         "Mine surveys, reviews and tickets for recurring complaint themes, reported monthly to "
         "product owners."),
        ("Proactive outage notification agent", AGENTIC, "idea", "pm",
         "Detect incidents affecting customers and message those affected before they call, "
         "with status updates until resolved."),
        ("Multilingual live chat translation", SUPPORT, "pilot>retired", "aisha.rahman",
         "Translate live chat both ways so agents can serve customers in languages they do "
         "not speak."),
        ("Refund approval agent", AGENTIC, "pilot", "pm",
         "Approve low-value refunds within policy without an agent and queue the rest with a "
         "recommendation and the evidence."),
        ("Legacy FAQ chatbot", SUPPORT, "production>retired", "pm",
         "Rule-based FAQ bot on the help centre, kept alive while the generative assistants "
         "matured."),
        ("Field service visit summariser", COPILOT, "idea", "aisha.rahman",
         "Turn technicians' voice notes into visit reports and parts orders at the end of "
         "each job."),
    )),
    ("finance-automation", (
        ("Invoice data extraction", AUTOMATION, "scaled", "pm2",
         "Extract header and line data from supplier invoices in any layout into the ERP, "
         "replacing template-based OCR."),
        ("Agentic invoice matching", AGENTIC, "pilot", "pm2",
         "Match invoices to purchase orders and goods receipts, resolve mismatches within "
         "tolerance and escalate the rest to AP clerks."),
        ("Expense policy checker", AUTOMATION, "production", "tom.becker",
         "Check expense claims and receipts against the travel policy before approval and "
         "explain each flag to the approver."),
        ("Month-end close variance commentary", COPILOT, "pilot", "tom.becker",
         "Draft variance commentary for the monthly management accounts from the ledger and "
         "last month's narrative."),
        ("Cash flow forecasting assistant", ANALYTICS, "assessment", "pm2",
         "Forecast 13-week cash positions from receivables, payables and bank data, with the "
         "drivers of each change explained."),
        ("Credit limit recommendation", RECOMMENDER, "assessment", "tom.becker",
         "Recommend credit limits for new trade customers, including sole traders, from "
         "bureau data and payment history."),
        ("Audit evidence collection agent", AGENTIC, "idea", "pm2",
         "Collect and file the evidence auditors request from ERP, ticketing and document "
         "systems, and track what is still missing."),
        # Its owner has done nothing anywhere since pausing it: the demo's silent owner.
        ("Vendor master data deduplication", AUTOMATION, "pilot>paused", "nadia.haddad",
         "Find and merge duplicate supplier records across the three ERPs before the "
         "consolidation project."),
        ("Contract clause extraction copilot", COPILOT, "production", "pm2",
         "Extract payment terms, renewal dates, liability caps and termination clauses from "
         "supplier contracts for legal and procurement to review."),
        ("Tax code suggestion for AP", AUTOMATION, "idea>retired", "tom.becker",
         "Suggest VAT codes for invoice lines during accounts payable processing."),
    )),
    ("data-platform", (
        ("Enterprise LLM gateway", PLATFORM, "scaled", "kenji.sato",
         "One gateway for every team's model calls: authentication, quotas, PII redaction, "
         "logging and cost allocation per initiative."),
        ("Prompt and model registry", PLATFORM, "production", "kenji.sato",
         "Version prompts and model configurations, tie each release to its evaluation results "
         "and roll back in one step."),
        ("Natural-language BI assistant", ANALYTICS, "pilot", "kenji.sato",
         "Answer business questions in plain language with SQL over the governed warehouse, "
         "showing the query and the source tables."),
        ("Feature store for ML", PLATFORM, "production", "maya.patel",
         "Shared, documented features for training and serving, so recommendation and "
         "forecasting models stop rebuilding the same pipelines."),
        ("Data catalogue auto-documentation", PLATFORM, "pilot>assessment>pilot", "kenji.sato",
         "Generate table and column descriptions for the data catalogue from schemas, lineage "
         "and query logs, reviewed by data stewards."),
        ("LLM evaluation harness", PLATFORM, "pilot", "maya.patel",
         "Shared golden sets, automated graders and regression runs so every team can measure "
         "quality before and after a change."),
        ("Synthetic test data generator", PLATFORM, "assessment>paused", "kenji.sato",
         "Generate realistic, privacy-safe test data for non-production environments from "
         "production schemas."),
        ("Vector search platform", PLATFORM, "assessment", "kenji.sato",
         "Managed embeddings and vector search, with access control inherited from the source "
         "systems."),
        ("Data quality anomaly explainer", ANALYTICS, "idea", "maya.patel",
         "Explain data quality alerts in plain language with the likely upstream cause and "
         "the owner to contact."),
        ("Enterprise meeting notes copilot", PLATFORM, "pilot>retired", "kenji.sato",
         "In-house meeting transcription and action-item extraction for all employees."),
        ("Mainframe code explanation assistant", COPILOT, "idea", "maya.patel",
         "Explain COBOL programs and their data flows to the engineers planning the mainframe "
         "migration."),
    )),
    ("sales-enablement", (
        ("Next-best-offer recommendations", RECOMMENDER, "production", "sofia.alvarez",
         "Recommend the next product to offer each account in the CRM, with the reasons, from "
         "purchase history and similar customers."),
        ("Sales call coaching insights", ANALYTICS, "pilot", "sofia.alvarez",
         "Analyse recorded sales calls for talk ratio, objections and next steps, and suggest "
         "coaching points to team leads."),
        ("RFP response drafting copilot", COPILOT, "scaled", "laura.fischer",
         "Draft answers to RFPs and security questionnaires from the approved answer library, "
         "with a source for every claim."),
        ("Account research briefings", COPILOT, "production", "laura.fischer",
         "One-page account briefings before customer meetings, from CRM, news and filings."),
        ("Lead scoring refresh", RECOMMENDER, "pilot>retired", "sofia.alvarez",
         "Replace the rules-based lead score with a model trained on two years of won and "
         "lost deals."),
        ("Personalised outbound email agent", AGENTIC, "assessment", "sofia.alvarez",
         "Write and send personalised follow-up emails to leads after events, within "
         "guardrails set by marketing."),
        ("CRM data entry automation", AUTOMATION, "pilot", "laura.fischer",
         "Log meetings, contacts and next steps in the CRM from calendar and email so reps "
         "stop typing them in."),
        ("Pricing guidance assistant", RECOMMENDER, "idea", "laura.fischer",
         "Suggest a discount range for each deal from comparable won deals and margin "
         "targets."),
        ("Partner portal product Q&A bot", SUPPORT, "assessment>retired", "sofia.alvarez",
         "Answer partners' product and pricing questions on the partner portal."),
        ("Customer churn early warning", ANALYTICS, "assessment", "sofia.alvarez",
         "Flag accounts likely to churn from usage, support and billing signals so account "
         "managers act a quarter earlier."),
        ("Sales forecast narrative generator", ANALYTICS, "assessment>paused", "laura.fischer",
         "Write the weekly forecast commentary for each region from pipeline changes."),
        ("Territory planning assistant", ANALYTICS, "idea", "sofia.alvarez",
         "Propose balanced sales territories from account potential, travel time and current "
         "coverage."),
    )),
    ("people-hr", (
        ("CV screening assistant", AUTOMATION, "pilot", "lukas.brandt",
         "Rank applications against the role's must-have criteria and draft a shortlist "
         "rationale for recruiters to review."),
        ("Interview scheduling agent", AGENTIC, "assessment", "lukas.brandt",
         "Coordinate interview slots between candidates and panels over email and book rooms "
         "and video links."),
        ("Internal mobility recommendations", RECOMMENDER, "idea", "lukas.brandt",
         "Suggest open internal roles and learning to employees from their skills profile and "
         "career interests."),
        ("HR policy Q&A copilot", COPILOT, "scaled", "olivia.grant",
         "Answer employees' questions on leave, benefits and policies from the HR handbook, "
         "with a link to the source."),
        ("Onboarding buddy assistant", COPILOT, "pilot", "olivia.grant",
         "Answer new joiners' questions in their first 90 days and nudge them through their "
         "onboarding tasks."),
        ("Employee survey comment analysis", ANALYTICS, "production", "olivia.grant",
         "Summarise free-text engagement survey comments by theme and sentiment per "
         "department, never for groups smaller than ten."),
        ("Workforce attrition prediction", ANALYTICS, "assessment>retired", "olivia.grant",
         "Predict which employees are likely to leave in the next six months."),
        ("Learning path recommendations", RECOMMENDER, "pilot>paused", "olivia.grant",
         "Recommend courses and learning paths from role, skills gaps and what similar "
         "colleagues took."),
    )),
    ("security-engineering", (
        ("Phishing report triage", AUTOMATION, "scaled", "fatima.noor",
         "Classify emails reported by staff, close the harmless ones and open incidents for "
         "real phishing with the indicators extracted."),
        ("SOC alert summarisation copilot", COPILOT, "production", "fatima.noor",
         "Summarise SIEM alerts with related events and a suggested next step for level-1 "
         "analysts."),
        ("Autonomous vulnerability remediation agent", AGENTIC, "pilot", "kenji.sato",
         "Open pull requests that patch vulnerable dependencies, run the tests and merge "
         "low-risk fixes without a human."),
        ("Secure code review assistant", COPILOT, "pilot", "fatima.noor",
         "Review pull requests for injection, secrets and authorisation flaws and explain "
         "each finding to the developer."),
        ("Insider threat behaviour analytics", ANALYTICS, "assessment>paused", "fatima.noor",
         "Score unusual access and data-movement behaviour per employee to prioritise "
         "insider-risk investigations."),
        ("Access review recommendations", RECOMMENDER, "idea", "fatima.noor",
         "Recommend which entitlements to revoke in quarterly access reviews from peer-group "
         "usage."),
        ("Deepfake voice fraud detection", OTHER, "assessment", "fatima.noor",
         "Detect synthetic voices on calls to the finance and service desks before payments "
         "or password resets go through."),
        ("Document redaction service", PLATFORM, "production", "fatima.noor",
         "Detect and redact personal and confidential data in documents before they are "
         "shared or sent to a model."),
    )),
    ("supply-chain", (
        ("Demand forecasting with external signals", ANALYTICS, "scaled", "tom.becker",
         "Add weather, promotions and market signals to the SKU-level demand forecast used "
         "for replenishment."),
        ("Supplier risk monitoring agent", AGENTIC, "pilot", "tom.becker",
         "Watch news, sanctions lists and financial filings for risks to key suppliers and "
         "open a case with a summary when one appears."),
        ("Warehouse pick-path optimisation", OTHER, "production", "jonas.lindqvist",
         "Optimise pick routes and batch orders in the two largest warehouses."),
        ("Purchase order exception handling", AUTOMATION, "pilot", "jonas.lindqvist",
         "Resolve price and quantity mismatches on purchase orders by drafting supplier "
         "emails and ERP changes for a buyer to approve."),
        ("Freight invoice audit", AUTOMATION, "production>paused", "jonas.lindqvist",
         "Audit carrier invoices against contracted rates and shipment data, and raise "
         "disputes for overcharges."),
        ("Inventory replenishment copilot", COPILOT, "idea", "tom.becker",
         "Let planners ask why a replenishment order was proposed and what happens if they "
         "change it."),
        ("Customs classification assistant", AUTOMATION, "assessment", "jonas.lindqvist",
         "Suggest HS tariff codes for new products from descriptions and specifications, with "
         "the rationale for the customs broker."),
        ("Carbon footprint estimation", OTHER, "idea>retired", "jonas.lindqvist",
         "Estimate scope 3 emissions per shipment from carrier and route data."),
        ("Store replenishment anomaly alerts", ANALYTICS, "pilot>paused>pilot",
         "jonas.lindqvist",
         "Alert planners when store orders deviate from the forecast and explain the likely "
         "cause."),
    )),
)

# AI profile per category: (risk tier, autonomy, uses personal data, customer facing)
CATEGORY_PROFILES = {
    COPILOT: (RiskTier.LIMITED, AutonomyLevel.ASSISTIVE, False, False),
    AUTOMATION: (RiskTier.MINIMAL, AutonomyLevel.HUMAN_IN_THE_LOOP, False, False),
    SUPPORT: (RiskTier.LIMITED, AutonomyLevel.HUMAN_IN_THE_LOOP, True, True),
    ANALYTICS: (RiskTier.MINIMAL, AutonomyLevel.ASSISTIVE, False, False),
    AGENTIC: (RiskTier.LIMITED, AutonomyLevel.HUMAN_ON_THE_LOOP, False, False),
    PLATFORM: (RiskTier.MINIMAL, AutonomyLevel.ASSISTIVE, False, False),
    RECOMMENDER: (RiskTier.LIMITED, AutonomyLevel.ASSISTIVE, True, True),
    OTHER: (RiskTier.MINIMAL, AutonomyLevel.ASSISTIVE, False, False),
}
AI_PROFILES = {
    "Emotion recognition for call-centre agents":
        (RiskTier.PROHIBITED, AutonomyLevel.ASSISTIVE, True, False),
    "CV screening assistant": (RiskTier.HIGH, AutonomyLevel.HUMAN_IN_THE_LOOP, True, False),
    "Credit limit recommendation": (RiskTier.HIGH, AutonomyLevel.HUMAN_IN_THE_LOOP, True, True),
    "Workforce attrition prediction": (RiskTier.HIGH, AutonomyLevel.ASSISTIVE, True, False),
    "Insider threat behaviour analytics": (RiskTier.HIGH, AutonomyLevel.ASSISTIVE, True, False),
    "Autonomous vulnerability remediation agent":
        (RiskTier.LIMITED, AutonomyLevel.AUTONOMOUS, False, False),
    "Proactive outage notification agent":
        (RiskTier.LIMITED, AutonomyLevel.AUTONOMOUS, True, True),
    "Refund approval agent": (RiskTier.LIMITED, AutonomyLevel.HUMAN_ON_THE_LOOP, True, True),
    "Personalised outbound email agent":
        (RiskTier.LIMITED, AutonomyLevel.HUMAN_ON_THE_LOOP, True, True),
    "Phishing report triage": (RiskTier.MINIMAL, AutonomyLevel.AUTONOMOUS, True, False),
    "Sales call coaching insights": (RiskTier.LIMITED, AutonomyLevel.ASSISTIVE, True, False),
    "Employee survey comment analysis": (RiskTier.LIMITED, AutonomyLevel.ASSISTIVE, True, False),
    "HR policy Q&A copilot": (RiskTier.LIMITED, AutonomyLevel.ASSISTIVE, True, False),
    "Interview scheduling agent":
        (RiskTier.LIMITED, AutonomyLevel.HUMAN_ON_THE_LOOP, True, True),
    "Document redaction service": (RiskTier.LIMITED, AutonomyLevel.AUTONOMOUS, True, False),
    "Deepfake voice fraud detection": (RiskTier.LIMITED, AutonomyLevel.ASSISTIVE, True, True),
}
VENDORS = {
    "llm": ("Azure OpenAI GPT-4.1", "Anthropic Claude on AWS Bedrock",
            "Google Gemini on Vertex AI", "Mistral Large (EU-hosted)",
            "Self-hosted Llama 3.1 70B"),
    "ml": ("In-house gradient boosting (XGBoost)", "In-house PyTorch model",
           "Databricks AutoML", "Vendor model via SaaS API"),
}
CATEGORY_VENDORS = {RECOMMENDER: "ml", OTHER: "ml"}

# Exit contract per category: (success metric, unit, direction, baseline, target, what a
# pilot that met it measured). A pilot that missed measured part of the way from the
# baseline to the target (``MISSED_SHARE``).
HIGHER, LOWER = MetricDirection.HIGHER, MetricDirection.LOWER
EXIT_CONTRACTS = {
    COPILOT: (("Hours saved per user per week", "h", HIGHER, "0", "2", "2.4"),
              ("Time to first draft", "hours", LOWER, "72", "4", "3.5")),
    AUTOMATION: (("Straight-through processing rate", "%", HIGHER, "42", "75", "78"),
                 ("Manual touches per 100 documents", "touches", LOWER, "100", "30", "24")),
    SUPPORT: (("Average handling time per contact", "minutes", LOWER, "11.4", "8", "7.6"),
              ("Contacts resolved without an agent", "%", HIGHER, "18", "35", "37")),
    ANALYTICS: (("Analyst hours per monthly report", "h", LOWER, "16", "4", "3.5"),
                ("Forecast error (MAPE)", "%", LOWER, "18", "12", "11.5")),
    AGENTIC: (("Cases closed without a human touch", "%", HIGHER, "0", "40", "44"),
              ("Median cycle time per case", "days", LOWER, "3.5", "1", "0.8")),
    PLATFORM: (("Teams onboarded", "teams", HIGHER, "0", "8", "11"),
               ("Weeks to ship a new AI use case", "weeks", LOWER, "10", "4", "3.5")),
    RECOMMENDER: (("Conversion uplift against control", "%", HIGHER, "0", "3", "3.8"),
                  ("Click-through on recommendations", "%", HIGHER, "2.1", "4", "4.6")),
    OTHER: (("Pick time per order", "minutes", LOWER, "6.5", "5", "4.6"),
            ("Fraudulent calls stopped", "%", HIGHER, "40", "85", "91")),
}
MISSED_SHARE = (0.45, 0.75)
# Where each category's numbers come from (a measurement's source): (a link, a note);
# "{slug}" is the initiative's.
MEASUREMENT_SOURCES = {
    COPILOT: ("https://analytics.example.com/copilots/{slug}/usage", ""),
    AUTOMATION: ("https://analytics.example.com/automation/{slug}/throughput", ""),
    SUPPORT: ("", "Weekly export from the contact-centre platform, all pilot queues."),
    ANALYTICS: ("", "Timesheets and the report log, checked with the finance controller."),
    AGENTIC: ("https://analytics.example.com/agents/{slug}/cases", ""),
    PLATFORM: ("https://wiki.example.com/platform/{slug}/adoption", ""),
    RECOMMENDER: ("https://experiments.example.com/{slug}/ab-test", ""),
    OTHER: ("", "Operations report for the pilot sites, signed off by the site lead."),
}
# The business case per category: (predicted annual value in thousands of the site's
# currency (settings.VALUE_CURRENCY), predicted annual run cost in percent of that value):
# tokens and licences, and the people who run it.
BUSINESS_CASES = {
    COPILOT: ((120, 480), (20, 35)),
    AUTOMATION: ((200, 900), (12, 25)),
    SUPPORT: ((300, 1200), (20, 30)),
    ANALYTICS: ((80, 300), (15, 30)),
    AGENTIC: ((250, 1000), (25, 40)),
    PLATFORM: ((150, 600), (35, 60)),
    RECOMMENDER: ((400, 1500), (10, 20)),
    OTHER: ((100, 500), (15, 30)),
}

# --- Outcomes: pilots against their exit contract, value after production -------------
# The demo PM's pilot the browser test takes to production: owned by "pm", sponsored by a
# demo login who may override, every checkpoint cleared (governance's demo), old enough
# for its tier's minimum pilot, and below its target: only the contract holds it back.
DEMO_PM_PILOT = "Self-service returns chatbot"
# title -> sponsor, where it is not the team's.
SPONSORS = {DEMO_PM_PILOT: "leader"}
# title -> the exit contract it agreed (instead of one of its category's).
CONTRACTS = {
    DEMO_PM_PILOT: ("Contacts resolved without an agent", "%", HIGHER, "18", "35", "37"),
}
# Pilots whose measurements tell a particular story: title -> values, oldest first (the
# rest trend from the baseline towards their target, met or missed).
MEASUREMENTS = {DEMO_PM_PILOT: ("21.5", "24", "26.5", "29")}
# Pilots that missed their target and went to production anyway: title -> the sponsor's
# reason for the override.
OVERRIDDEN = {
    "Voice of the customer theme mining": (
        "Product owners already plan the quarter on the monthly themes; the analyst hours "
        "will follow once the survey feed is automated."),
    "Account research briefings": (
        "Reps who used the briefings opened more opportunities; roll out and measure the "
        "preparation time again at the 90-day review."),
}
# Pilots that missed their target: stopped (retired), or still running below it.
MISSED = {"Multilingual live chat translation", "Lead scoring refresh",
          "Month-end close variance commentary", "CV screening assistant",
          "Sales call coaching insights", "Onboarding buddy assistant", DEMO_PM_PILOT,
          *OVERRIDDEN}
# A pilot shorter than its risk tier's minimum (MIN_PILOT_DAYS) that went to production:
# the sponsor's reason (the demo's history otherwise gives pilots their minimum).
SHORT_PILOT_REASON = ("The peak season starts next month; the pilot group has used it daily "
                      "and support is staffed for the rollout.")
# Realised value as a share of the prediction at value reviews, per team (estimate
# accuracy): Sales Enablement consistently over-predicts; everyone else is about right.
REALISED_SHARE = {"sales-enablement": (0.52, 0.6)}
DEFAULT_REALISED_SHARE = (0.85, 1.15)
RUN_COST_SHARE = (0.9, 1.25)  # of the predicted run cost
# Value at risk at the latest review: title -> (share realised, decision or "" (awaiting
# one), the decision's note).
VALUE_AT_RISK = {
    "Account research briefings": (
        0.41, ValueDecision.SCALE_BACK,
        "Keep the briefings for strategic accounts only and drop the news feed licence."),
    "Voice of the customer theme mining": (0.35, "", ""),
}
# Production initiatives whose owner has not recorded the latest value review: overdue
# once its grace period has passed. A review that came due in the last days waits too.
REVIEW_NOT_RECORDED = {"Employee survey comment analysis", "Enterprise LLM gateway"}
REVIEW_DELAY_DAYS = (2, 12)  # after a review comes due, until its owner records it
VALUE_NOTES = ("Finance confirmed the savings from the ledger.",
               "Figures from the monthly operations review.",
               "Usage telemetry and the licence invoices.")

# Scenarios that must show on the dashboard: title -> (days since created,
# days in the current stage, days since the last activity).
TIMING = {
    "Call summarisation and wrap-up notes": (280, 128, 9),        # stalled: long in pilot
    "Month-end close variance commentary": (310, 104, 15),        # stalled: long in pilot
    "Refund approval agent": (170, 58, 31),                       # stalled: idle
    "Sales call coaching insights": (220, 72, 38),                # stalled: idle
    "CV screening assistant": (340, 135, 44),                     # both; the owner has left
    "Interview scheduling agent": (260, 96, 52),
    "Internal mobility recommendations": (150, 150, 63),
    "Emotion recognition for call-centre agents": (120, 80, 12),
    "Agentic invoice matching": (200, 12, 2),                     # a fresh pilot
    "Data catalogue auto-documentation": (330, 18, 3),
    "Store replenishment anomaly alerts": (300, 30, 5),
    DEMO_PM_PILOT: (230, 48, 4),                                  # past its minimum pilot
}
# Typical (days in the current stage, days since the last activity) per stage;
# None: nothing has happened since the initiative stopped.
STAGE_TIMING = {
    Stage.IDEA: ((7, 150), (1, 30)),
    Stage.ASSESSMENT: ((7, 75), (1, 14)),
    Stage.PILOT: ((10, 60), (1, 12)),
    Stage.PRODUCTION: ((20, 150), (2, 20)),
    Stage.SCALED: ((20, 120), (2, 20)),
    Stage.PAUSED: ((14, 120), None),
    Stage.RETIRED: ((7, 200), None),
}

RETIREMENTS = {
    "Multilingual live chat translation": (
        RetirementReason.VALUE_NOT_PROVEN,
        "Agents trusted the translations for simple questions only and handling time rose on "
        "complex cases. Next time pilot one language pair and measure per intent."),
    "Legacy FAQ chatbot": (
        RetirementReason.SUPERSEDED,
        "Replaced by the reply drafting copilot and the returns chatbot. Retire rule-based bots "
        "as soon as the replacement is measured, not a year later."),
    "Tax code suggestion for AP": (
        RetirementReason.DUPLICATE,
        "Same scope as the line coding step of invoice data extraction; merged into that "
        "backlog. Search the portfolio before logging a new idea."),
    "Enterprise meeting notes copilot": (
        RetirementReason.SUPERSEDED,
        "The office-suite vendor shipped meeting recaps in a licence we already pay for. Check "
        "vendor roadmaps before building horizontal productivity tools."),
    "Lead scoring refresh": (
        RetirementReason.DATA_NOT_READY,
        "Lost-deal reasons were missing on 60% of opportunities, so the model learnt a few "
        "teams' data entry habits. Fix CRM hygiene first."),
    "Partner portal product Q&A bot": (
        RetirementReason.NO_OWNER,
        "No team would own partner content quality in production. A named production owner "
        "at intake would have stopped this earlier."),
    "Workforce attrition prediction": (
        RetirementReason.RISK,
        "High-risk under the EU AI Act; the bias review found proxies for age and parental "
        "leave and the works council objected. Team-level trends come from the survey."),
    "Carbon footprint estimation": (
        RetirementReason.COST,
        "Carrier data licences cost more than the expected value; sustainability will use "
        "supplier-reported figures instead."),
}
PAUSE_NOTES = {
    "Vendor master data deduplication":
        "Paused until the ERP consolidation project settles the target data model.",
    "Synthetic test data generator":
        "Paused: privacy asked for a differential-privacy assessment we cannot staff this "
        "quarter.",
    "Sales forecast narrative generator":
        "Paused: regional leads will write their own commentary until the CRM forecast is "
        "reliable.",
    "Learning path recommendations":
        "Paused while the new learning platform contract is negotiated.",
    "Insider threat behaviour analytics":
        "Paused pending works council consultation on employee monitoring.",
    "Freight invoice audit":
        "Paused after the carrier contract renegotiation; rates change next quarter.",
    "Store replenishment anomaly alerts": "Paused for the peak-season code freeze.",
}
# (title, from stage, to stage) -> note, for the moves that are not a pause or a step forward
MOVE_NOTES = {
    ("Store replenishment anomaly alerts", Stage.PAUSED, Stage.PILOT):
        "Resumed after the peak-season code freeze.",
    ("Data catalogue auto-documentation", Stage.PILOT, Stage.ASSESSMENT):
        "Back to assessment: stewards rejected a third of the generated descriptions; we need "
        "a better evaluation set before piloting again.",
}
DEFAULT_MOVE_NOTES = {
    Stage.ASSESSMENT: "Problem and data confirmed; starting the assessment.",
    Stage.PILOT: "Exit contract agreed; pilot group selected.",
    Stage.PRODUCTION: "Pilot met its exit contract; rolling out.",
    Stage.SCALED: "Adopted by a second business unit.",
    Stage.PAUSED: "Paused to free capacity for higher-ranked work.",
    Stage.RETIRED: "Stopped at the sponsor's review.",
}

UPDATE_BODIES = {
    Stage.IDEA: (
        "Problem statement drafted with the process owners.",
        "Collected examples of the manual work from three team leads.",
        "Rough sizing done; looking for an executive sponsor.",
    ),
    Stage.ASSESSMENT: (
        "Data access request filed; the sample extract is with privacy for review.",
        "Vendor comparison done: two hosted models and one open-weights option shortlisted.",
        "Evaluation set of 200 labelled examples agreed with the business.",
        "Security questionnaire returned by the vendor; follow-up questions open.",
    ),
    Stage.PILOT: (
        "Pilot group onboarded; first week of usage looks healthy.",
        "Quality on the weekly evaluation set is holding above the exit-contract target.",
        "Pilot users ask for the assistant inside the tool they already use.",
        "Weekly review with the business owner: on track against the exit contract.",
    ),
    Stage.PRODUCTION: (
        "Rolled out to all users in the region; monitoring dashboards are live.",
        "Monthly drift review: no material change in quality.",
        "On-call runbook exercised in a game day.",
        "Cost per request down after prompt caching.",
    ),
    Stage.SCALED: (
        "Second business unit live on the same service.",
        "Usage doubled quarter on quarter; unit cost falling.",
    ),
    Stage.PAUSED: ("Still paused; waiting on the decision at the next quarterly review.",),
}
RUNNING_STAGES = (Stage.PRODUCTION, Stage.SCALED)
# (on track, at risk, blocked) odds of an update, while building and once running
HEALTH_ODDS = {"building": (75, 18, 7), "running": (85, 15, 0)}
TROUBLE_BODIES = {
    ("building", Health.AT_RISK): (
        "Waiting two weeks for data access; the timeline is at risk.",
        "Evaluation results below target on edge cases; root-causing with the vendor.",
        "Key engineer moved to another project; capacity is at risk this quarter.",
    ),
    ("building", Health.BLOCKED): (
        "Blocked: the vendor contract is stuck in procurement.",
        "Blocked: no production owner agreed in the business yet.",
    ),
    ("running", Health.AT_RISK): (
        "Quality dipped after the provider's model version change; pinned the old version "
        "and investigating.",
        "Latency above the service level at peak hours; working with the platform team.",
    ),
}
# The latest update of initiatives with a story to tell: title -> (health, body)
LAST_UPDATES = {
    "Emotion recognition for call-centre agents": (
        Health.BLOCKED,
        "Legal opinion received: emotion recognition at work is prohibited under Article 5 of "
        "the EU AI Act. It cannot go ahead as scoped; recommending retirement to the sponsor."),
    "CV screening assistant": (
        Health.AT_RISK,
        "Fairness evaluation shows a gap in shortlist rates between age groups. Holding the "
        "rollout until the bias review is complete."),
    "Call summarisation and wrap-up notes": (
        Health.AT_RISK,
        "Agents like the summaries, but nobody in the contact centre has agreed to run it in "
        "production. The decision date has passed."),
    "Month-end close variance commentary": (
        Health.AT_RISK,
        "Controllers still rewrite most of the commentary; accuracy at the last close was "
        "below the exit-contract target."),
    "Refund approval agent": (
        Health.BLOCKED,
        "Blocked: payments has not approved the refund API limits for autonomous use."),
    "Sales call coaching insights": (
        Health.AT_RISK, "Waiting on consent wording for call recordings in two countries."),
}
# Initiatives nobody has taken Responsibility for (ideas never have anyone yet); the
# ownership page lists them.
NO_RESPONSIBLE = {"Call summarisation and wrap-up notes", "Synthetic test data generator",
                  "Customer churn early warning"}

# (initiative, the initiative it depends on)
DEPENDENCIES = (
    ("Agentic invoice matching", "Invoice data extraction"),
    ("Agent reply drafting copilot", "Enterprise LLM gateway"),
    ("Contract clause extraction copilot", "Enterprise LLM gateway"),
    ("Natural-language BI assistant", "Data catalogue auto-documentation"),
    ("Next-best-offer recommendations", "Feature store for ML"),
    ("Self-service returns chatbot", "Support ticket triage and routing"),
    ("Secure code review assistant", "Prompt and model registry"),
    ("Supplier risk monitoring agent", "Vendor master data deduplication"),
    ("HR policy Q&A copilot", "Document redaction service"),
)

EFFORT_WEEKS = (2, 3, 4, 6, 8, 10, 12, 16, 20, 26)
REACH = (40, 120, 300, 800, 2000, 5000, 20000)
IMPACTS = tuple(value for value, _ in IMPACT_CHOICES)
CONFIDENCE_BY_STAGE = {Stage.IDEA: (50,), Stage.ASSESSMENT: (50, 80)}

# --- Duplicate detection at intake ------------------------------------------------------
# What a People & HR PM might type at intake: Customer Operations already runs the same
# thing for customer tickets. The duplicate finder puts that initiative first. (The
# portfolio also holds a natural pair across teams: "Agentic invoice matching" in Finance
# Automation and "Purchase order exception handling" in Supply Chain both resolve
# mismatches between purchase orders and invoices.)
DEMO_DUPLICATE_PROBE = (
    "HR service desk request triage",
    "Sort incoming employee cases by topic and urgency and route each one to the right HR "
    "queue, so fewer cases bounce between HR teams.",
    "Support ticket triage and routing",
)
