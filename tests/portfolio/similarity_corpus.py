"""A test portfolio for duplicate detection: enterprise AI initiatives from a dozen teams.

``PLANTED_PAIRS`` are two teams proposing the same thing in their own words: reworded
titles, British and American spelling, each team's vocabulary (ticket / request, invoice
/ bill, staff / employees). ``OTHERS`` are different problems that share vocabulary with
the pairs (a freight invoice audit is not invoice data capture). ``UNRELATED_PROBES`` are
intake texts that duplicate nothing here, some of them with an ordinary word or two in
common with it.

Each entry is (team, title, summary). Written as the teams would write them; not tuned to
the algorithm.
"""

PLANTED_PAIRS = [
    (
        ("Customer Care", "Support ticket triage and routing",
         "Classify incoming support tickets by intent, language and urgency and route them to "
         "the right queue, so first responses are faster and fewer tickets bounce between "
         "teams."),
        ("IT Operations", "IT service desk request categorisation",
         "Categorise requests raised with the IT helpdesk and assign each one to the correct "
         "resolver group, putting outages and VIP requests first."),
    ),
    (
        ("Workplace Technology", "Meeting summarization assistant",
         "Summarize Teams and Zoom meetings into decisions, open questions and action items "
         "and post the summary to the meeting chat within minutes."),
        ("Legal", "Automatic minutes and action items for internal meetings",
         "Record internal meetings, write up the minutes and summarise who agreed to do what "
         "by when, so nobody has to take notes by hand."),
    ),
    (
        ("Finance - Accounts Payable", "Invoice data capture",
         "Read supplier invoices arriving as PDFs or scans and extract the header fields and "
         "line items into SAP, replacing manual keying by the AP clerks."),
        ("Procurement", "Extracting line items from vendor bills",
         "Pull totals, VAT and line-level detail out of vendor bills received by email so "
         "buyers stop retyping them into the ERP."),
    ),
    (
        ("People & HR", "Employee attrition risk model",
         "Predict which employees are likely to resign in the next two quarters from "
         "engagement, pay and promotion history, so HR business partners can intervene."),
        ("Retail Operations", "Store staff turnover early warning",
         "Forecast which store colleagues are at risk of leaving, using rota, pay and tenure "
         "data, so regional managers can act before they hand in their notice."),
    ),
    (
        ("Legal", "Contract clause extraction",
         "Pull renewal dates, liability caps, payment terms and termination clauses out of "
         "signed customer and supplier contracts into the contract register."),
        ("Procurement", "Supplier agreement review copilot",
         "Highlight auto-renewal, payment terms and liability limits in supplier agreements "
         "so category managers spot risky clauses before they sign."),
    ),
    (
        ("People & HR", "HR policy chatbot",
         "Answer employee questions on leave, benefits and expenses from the HR handbook, "
         "with a link to the policy it quotes."),
        ("Retail Operations", "Ask-HR virtual assistant for store colleagues",
         "A bot in the staff app that answers colleagues' questions about holidays, pay and "
         "benefits from our HR policies, in the evenings and at weekends too."),
    ),
    (
        ("Treasury", "Cash flow forecasting",
         "Forecast 13-week cash positions from receivables, payables and bank balances, with "
         "the drivers of each change explained."),
        ("Financial Planning & Analysis", "Liquidity prediction for treasury",
         "Predict daily cash balances for the next quarter from accounts receivable, accounts "
         "payable and bank feeds so treasury can plan short-term funding."),
    ),
    (
        ("Security Operations", "Phishing email triage",
         "Classify emails reported by staff as phishing, spam or safe, close the harmless ones "
         "and open incidents for real phishing with the indicators extracted."),
        ("IT Operations", "Suspicious mail report classifier",
         "Sort the mails employees forward to the abuse mailbox into harmless, spam and "
         "phishing, and raise a security incident whenever phishing is confirmed."),
    ),
    (
        ("Supply Chain", "Demand forecasting for store replenishment",
         "Forecast SKU-level demand per store using promotions, weather and seasonality to "
         "drive automatic replenishment orders."),
        ("Merchandising", "Store sales prediction with weather and promo signals",
         "Predict weekly unit sales per product and store from the promotion calendar and "
         "weather forecasts so buyers order the right stock."),
    ),
    (
        ("Engineering Productivity", "Code review assistant",
         "Review pull requests for bugs, security flaws and style problems and leave comments "
         "on the PR for the author."),
        ("Application Security", "Secure code scanning copilot for developers",
         "Check merge requests for injection, hard-coded secrets and authorisation flaws and "
         "explain each finding to the developer in the review."),
    ),
    (
        ("Subscriptions Marketing", "Subscriber churn prediction",
         "Identify subscribers likely to cancel in the next 60 days from usage and billing "
         "data so the retention team can make them an offer."),
        ("B2B Sales", "At-risk account churn early warning",
         "Flag business accounts showing signs of churn - falling usage, unpaid invoices, "
         "support escalations - so account managers act a quarter earlier."),
    ),
    (
        ("Talent Acquisition", "CV screening and shortlisting",
         "Rank job applications against the role's must-have criteria and draft a shortlist "
         "with the reasons for the recruiter to check."),
        ("Engineering", "Resume matching for engineering hires",
         "Score incoming résumés against the role requirements and suggest which candidates "
         "hiring managers should interview."),
    ),
    (
        ("Customer Care", "Multilingual live chat translation",
         "Translate chat messages both ways in real time so agents can serve customers in "
         "languages they do not speak."),
        ("Field Service", "Real-time translation for support conversations",
         "Let English-speaking support staff hold chat conversations with customers in "
         "Spanish, German or Polish through instant machine translation."),
    ),
    (
        ("Finance", "Expense report policy checker",
         "Check expense claims and receipts against the travel and expense policy before "
         "approval and explain every flag to the approver."),
        ("Internal Audit", "T&E claim compliance auditing",
         "Review employees' travel and expense claims for policy breaches such as duplicate "
         "receipts or out-of-policy hotels, and flag them to approvers."),
    ),
    (
        ("Manufacturing", "Predictive maintenance for conveyor lines",
         "Predict conveyor and motor failures from vibration and temperature sensors so "
         "maintenance is scheduled before a breakdown stops the line."),
        ("Logistics Engineering", "Equipment failure forecasting in distribution centres",
         "Use sensor readings from the sorters and conveyors in our DCs to forecast "
         "breakdowns and plan repairs during quiet hours."),
    ),
    (
        ("Sales", "Sales call coaching insights",
         "Analyse recorded sales calls for talk ratio, objections and next steps, and suggest "
         "coaching points to team leads."),
        ("Inside Sales EMEA", "Call recording analysis for rep coaching",
         "Transcribe and analyze reps' prospect calls to surface objection handling and "
         "talk-to-listen balance for managers' weekly coaching sessions."),
    ),
    (
        ("Customer Care", "Knowledge base article generation",
         "Draft new help-centre articles from resolved tickets where no article exists yet, "
         "for the knowledge team to review and publish."),
        ("IT Operations", "Auto-writing KB articles from closed incidents",
         "Turn solved IT incidents into draft knowledge base entries so the service desk "
         "stops answering the same question twice."),
    ),
    (
        ("Procurement", "Supplier risk monitoring",
         "Watch news, sanctions lists and credit ratings for early signs of risk at critical "
         "suppliers and alert the category managers."),
        ("Supply Chain", "Vendor disruption early-warning agent",
         "Scan news feeds and financial filings for events that threaten our key vendors - "
         "strikes, insolvency, sanctions - and notify the planners."),
    ),
    (
        ("Logistics", "Customs tariff code classification",
         "Suggest HS codes for new products from their descriptions and specifications, with "
         "the reasoning, for the customs broker."),
        ("Trade Compliance", "Automated HS classification for import declarations",
         "Classify imported items under the harmonised system and explain the rationale to "
         "the trade compliance team before the declaration is filed."),
    ),
    (
        ("People & HR", "Onboarding assistant for new joiners",
         "Answer new hires' questions during their first 90 days and remind them of their "
         "onboarding tasks and mandatory training."),
        ("Engineering", "New starter buddy bot",
         "A chat bot that helps new starters in engineering find their way in the first "
         "weeks: laptop set-up, access requests and who to ask about what."),
    ),
    (
        ("Finance", "Vendor master data deduplication",
         "Find and merge duplicate supplier records across the three ERPs before the "
         "consolidation programme."),
        ("Procurement", "Supplier record matching and clean-up",
         "Identify suppliers that exist several times in the ERP under slightly different "
         "names and merge them into one golden record."),
    ),
    (
        ("Legal", "Document redaction service",
         "Detect and redact personal and confidential data in documents before they are "
         "shared outside the company."),
        ("Data Platform", "PII masking before prompts reach the model",
         "Anonymise names, account numbers and other personal data in text before it is "
         "sent to an LLM, and put them back in the answer."),
    ),
]

OTHERS = [
    ("Customer Care", "Refund approval agent",
     "Approve low-value refunds within policy without an agent and queue the rest with a "
     "recommendation and the evidence."),
    ("Logistics", "Freight invoice audit",
     "Audit carrier invoices against contracted rates and shipment data, and raise disputes "
     "for overcharges."),
    ("Sales", "Sales forecast commentary generator",
     "Write the weekly forecast narrative for each region from pipeline changes."),
    ("Logistics", "Warehouse pick-path optimisation",
     "Optimise pick routes and batch orders in the two largest warehouses."),
    ("Marketing", "Lead scoring model",
     "Replace the rules-based lead score with a model trained on two years of won and lost "
     "deals."),
    ("Talent Acquisition", "Interview scheduling agent",
     "Coordinate interview slots between candidates and panels over email and book rooms and "
     "video links."),
    ("Marketing", "Campaign copy generation",
     "Generate first drafts of email and social copy for campaigns in the brand voice, for "
     "marketers to edit."),
    ("Security Operations", "SOC alert summarisation",
     "Summarise SIEM alerts with related events and a suggested next step for level-1 "
     "analysts."),
    ("Customer Care", "Customer email reply drafting",
     "Draft replies to customer emails from the order history and the returns policy; agents "
     "edit and send."),
    ("Data Platform", "Data catalogue auto-documentation",
     "Generate table and column descriptions for the data catalogue from schemas, lineage and "
     "query logs, reviewed by data stewards."),
]

UNRELATED_PROBES = [
    ("Wind turbine blade inspection from drone images",
     "Detect cracks and leading-edge erosion on turbine blades in drone photos so inspectors "
     "only look at flagged images."),
    ("Clinical trial site selection",
     "Rank candidate hospitals for new trials by past enrolment speed and patient "
     "population."),
    ("Fleet fuel consumption optimisation",
     "Recommend driving behaviour changes and idling limits that lower diesel use across our "
     "van fleet."),
    ("Sign-language avatar for station announcements",
     "Render platform announcements in sign language on station screens for deaf "
     "passengers."),
    ("Office occupancy forecasting",
     "Forecast desk and meeting-room occupancy from badge data to right-size our office "
     "leases."),
    ("Patent prior-art search",
     "Search patent databases for prior art similar to new invention disclosures before the "
     "attorneys file."),
    ("Bottling line visual inspection",
     "Spot under-filled bottles, crooked labels and damaged caps from line cameras and reject "
     "them before palletising."),
    ("Crop yield estimation from satellite imagery",
     "Estimate yield per field for contracted farms from satellite images and local rainfall "
     "to plan intake at the mills."),
    ("Alt text for website images",
     "Write alt text for the product images on the web shop so the site meets accessibility "
     "standards."),
    ("Canteen food waste reduction",
     "Predict daily meal counts in the staff canteens from bookings and weather to cut food "
     "waste."),
    ("COBOL to Java code migration",
     "Translate legacy COBOL batch programs into Java and generate tests that prove the "
     "outputs are unchanged."),
    ("Energy price hedging signals",
     "Suggest when to lock in electricity prices for our plants from futures curves and "
     "demand plans."),
]

# Harder cases, for the two tiers ("probably the same idea" and "related work").
#
# ``HARD_PARAPHRASES`` are reworded twins: the same initiative written up by another team
# with as few of the same words as they would naturally use (different verbs, the thing
# named from the other side). ``HARD_NEGATIVES`` are two different initiatives in the same
# area: they share the domain's vocabulary (tickets, invoices, meetings, contracts) but do
# different jobs. A hard negative may be suggested as related work, never as the same idea.

HARD_PARAPHRASES = [
    (
        ("Field Service", "Warranty claim assessment",
         "Check warranty claims against the product registration, the reported fault and the "
         "repair history, and recommend accepting or rejecting each one to the claims "
         "handler."),
        ("After-Sales", "Guarantee screening for returned appliances",
         "Verify the purchase date and serial number of appliances sent back under guarantee, "
         "compare the described defect with earlier repairs and suggest a decision."),
    ),
    (
        ("Workplace Technology", "Interview note taker",
         "Transcribe job interviews and write a structured summary of each candidate's "
         "answers against the scorecard."),
        ("Talent Acquisition", "Candidate interview transcripts and scorecards",
         "Record candidate interviews, transcribe them and fill in the interview scorecard "
         "from what was said, for the hiring panel."),
    ),
    (
        ("Finance", "Month-end accruals suggestions",
         "Propose accrual journal entries at period end from open purchase orders and goods "
         "received, for accountants to review."),
        ("Group Accounting", "Accrual journal proposals at close",
         "At each month-end close, draft the accruals for goods received but not yet "
         "invoiced from the purchase order data, ready for review."),
    ),
    (
        ("IT Operations", "Password reset self-service bot",
         "A chatbot that verifies the employee and resets their password or unlocks their "
         "account without a helpdesk ticket."),
        ("Service Desk", "Account unlock and password help via chat",
         "Let staff unlock their accounts and reset passwords through a chat assistant after "
         "identity checks, instead of calling the service desk."),
    ),
    (
        ("Marketing", "Product description writer for the web shop",
         "Generate product descriptions for new catalogue items from the supplier's "
         "specifications in the brand's tone."),
        ("E-commerce", "Catalogue copy generation from supplier specs",
         "Write the web shop copy for each new product from the attribute sheet the supplier "
         "sends, in our house style."),
    ),
    (
        ("Security Operations", "Vulnerability remediation prioritisation",
         "Rank open vulnerabilities by exploitability and asset criticality so the patching "
         "teams fix the most dangerous ones first."),
        ("Infrastructure", "Risk-based patching order for CVEs",
         "Order the CVE backlog by how likely each is to be exploited and how critical the "
         "affected servers are, to plan patch windows."),
    ),
]

HARD_NEGATIVES = [  # (the title of a planted initiative, a different one in its area)
    (
        "Support ticket triage and routing",
        ("Customer Care", "Support ticket summaries for handover",
         "Summarise long support ticket threads into a short recap, so an agent taking over "
         "a ticket understands it in a minute."),
    ),
    (
        "Invoice data capture",
        ("Finance - Accounts Payable", "Duplicate invoice payment detection",
         "Flag supplier invoices that look like one already paid - same amount, similar "
         "number, another date - before the payment run."),
    ),
    (
        "Meeting summarization assistant",
        ("Workplace Technology", "Meeting room booking assistant",
         "Find and book a free meeting room with the right equipment for the attendees, "
         "from a chat request."),
    ),
    (
        "Contract clause extraction",
        ("Legal", "First-draft contract generator",
         "Draft NDAs and standard supplier contracts from the legal templates and the deal "
         "details, for a lawyer to finish."),
    ),
    (
        "Subscriber churn prediction",
        ("Subscriptions Marketing", "Subscriber lifetime value prediction",
         "Predict each new subscriber's two-year revenue from sign-up channel and first-month "
         "usage, to set acquisition bids."),
    ),
    (
        "Code review assistant",
        ("Engineering Productivity", "Unit test generation",
         "Generate unit tests for untested code paths in the legacy services and open them "
         "as pull requests."),
    ),
    (
        "Phishing email triage",
        ("Security Awareness", "Phishing simulation campaigns",
         "Write realistic simulated phishing emails for awareness training and track who "
         "clicks, to target the training."),
    ),
    (
        "Knowledge base article generation",
        ("Customer Care", "Knowledge base answer search for agents",
         "Answer agents' questions in the support console with passages from the knowledge "
         "base, with links to the articles."),
    ),
    (
        "CV screening and shortlisting",
        ("Talent Acquisition", "Job advert writer",
         "Write inclusive job adverts from the hiring manager's notes and the role profile, "
         "for the recruiter to post."),
    ),
    (
        "Demand forecasting for store replenishment",
        ("Retail Operations", "Store staff rota planning",
         "Plan store staff shifts from the footfall forecast and colleagues' availability."),
    ),
]
