"""The engine's refusals by stable code: each code's English wording, with named parameters.

An exception of workflow.errors carries `code` and `params`; its English `detail` is the
wording below filled in. The API sends the English detail with the code and params (a client
words it as it likes), the CLI prints the English, the console says it in the user's language:
the wordings are the console catalogue's msgids (marked with N_ so that pybabel finds them), and
the console names the params in its words (a trigger, a state, a unit by its name).

A code is a promise to clients: never change what a code means; add a new one instead. The
table of codes is in the API's documentation (docs/api/errors.md), checked against this one."""

from __future__ import annotations

from collections.abc import Mapping


def N_(text: str) -> str:
    """Marks a wording for the console's catalogue; the engine itself stays English."""
    return text


MESSAGES: dict[str, str] = {
    # Cases: opening and finding.
    "no_case": N_("no case %(case)s"),
    "no_item": N_("no item '%(item)s' in the list"),
    "not_a_workstation": N_("'%(workstation)s' is not a community workstation"),
    "not_an_opener": N_(
        "only a clerk of %(workstation)s, or the staff of the community body that receives "
        "the item, opens a case there"
    ),
    "no_urgency": N_("no urgency '%(urgency)s'"),
    # Text and data given with a change.
    "required": N_("%(field)s is required"),
    "a_required": N_("a %(field)s is required"),
    "too_long": N_("%(field)s is too long"),
    "the_too_long": N_("the %(field)s is too long"),
    "not_json": N_("%(field)s is not JSON: %(error)s"),
    "not_json_object": N_("%(field)s is not a JSON object"),
    "too_large": N_("%(field)s is too large: %(size)s bytes as JSON"),
    "bad_text": N_("these fields hold characters that are not allowed: %(fields)s"),
    # Firing a trigger.
    "changed_by_someone": N_("case %(case)s was changed by someone else"),
    "stale_case": N_("case %(case)s is at version %(version)s, not %(expected)s"),
    "no_trigger": N_("route %(route)s has no trigger '%(trigger)s'"),
    "not_allowed_in_state": N_(
        "'%(trigger)s' is not allowed in state '%(state)s' (allowed: %(allowed)s)"
    ),
    "fired_by": N_("'%(trigger)s' is fired by %(roles)s, not by a %(role)s"),
    "held_by_other": N_("the case is held by %(holder)s, not by %(unit)s"),
    "needs_reason": N_("'%(trigger)s' needs a reason"),
    "target_or_targets": N_("give target or targets, not both"),
    "one_target": N_("'%(trigger)s' takes one target here"),
    "needs_target": N_("'%(trigger)s' needs a target department"),
    "not_whistle_target": N_("'%(target)s' is not a whistle target of item %(item)s"),
    "takes_no_target": N_("'%(trigger)s' takes no target"),
    "lead_without_targets": N_("a lead without targets"),
    # A whistle's tasks (the called departments' parts).
    "no_task": N_("no task %(task)s"),
    "no_task_step": N_("no task step '%(step)s'"),
    "no_task_status": N_("no task status '%(status)s'"),
    "task_step_not_allowed": N_(
        "'%(step)s' is not allowed on a task that is %(status)s (allowed: %(allowed)s)"
    ),
    "name_a_department": N_("name at least one department"),
    "department_twice": N_("a department is named twice"),
    "not_a_department": N_("'%(unit)s' is not a department"),
    "not_whistle_target_reason": N_(
        "'%(unit)s' is not a whistle target of item %(item)s: give a reason"
    ),
    "already_called": N_("%(unit)s is already called on this case"),
    "lead_not_target": N_("the lead '%(unit)s' is not one of the targets"),
    "nobody_left": N_("no department left to call"),
    "waits_for_tasks": N_(
        "the case waits for its tasks: %(units)s not done yet"
        " (the state is left once every required task is done or cancelled)"
    ),
    "task_moved_on": N_("case %(case)s has moved on from the state that opened task %(task)s"),
    "task_unit_only": N_("task %(task)s is %(unit)s's part: its staff take this step"),
    "commander_only": N_("'%(step)s' is the commanding unit's (%(holder)s) to take"),
    "stale_task": N_("task %(task)s is at version %(version)s, not %(expected)s"),
    # Returns (退单).
    "nothing_to_return": N_("case %(case)s is %(state)s: there is nothing to return"),
    "holder_returns": N_("only the holder (%(holder)s) asks to return case %(case)s"),
    "no_return_category": N_("no return category '%(category)s'"),
    "return_pending": N_("return %(number)s of %(what)s %(id)s is waiting for a decision"),
    "arbitration_final": N_(
        "the district's arbitration of return %(number)s is final: %(unit)s is responsible"
    ),
    "task_nothing_to_return": N_("task %(task)s is %(status)s: there is nothing to return"),
    "no_such_task": N_("no such task %(task)s"),
    "task_staff_return": N_("task %(task)s is %(unit)s's: its staff ask to return it"),
    "no_return": N_("no return %(number)s"),
    "return_decided_by": N_("return %(number)s is decided by %(unit)s"),
    "return_decided_already": N_("return %(number)s was %(status)s already"),
    "task_moved_on_return": N_("task %(task)s has moved on since the return was asked for"),
    "case_moved_on_return": N_("case %(case)s has moved on since the return was asked for"),
    "refused_stays": N_("a refused return stays with the requester"),
    "no_unit": N_("no unit '%(unit)s'"),
    "name_the_unit": N_("the case began with the requester: name the unit to send it to"),
    "approve_elsewhere": N_("to approve is to send the case elsewhere"),
    "cannot_be_called": N_("'%(unit)s' cannot be called"),
    "approve_release": N_("to approve is to release the requester"),
    "has_task_already": N_("%(unit)s has a task of this case already"),
    "cannot_hold": N_("%(unit)s cannot hold a case in %(state)s"),
    # Urgency.
    "urgency_changer": N_(
        "the holder (%(holder)s), its street or the dispatch centre changes the urgency"
    ),
    "case_closed": N_("case %(case)s is %(state)s: it is closed"),
    "urgency_already": N_("case %(case)s is %(urgency)s already"),
    # Supervision (督办) and extensions (延期).
    "no_such": N_("no %(what)s %(id)s"),
    "supervision_addressed": N_("supervision %(supervision)s is addressed to %(unit)s"),
    "supervision_acknowledged": N_("supervision %(supervision)s was acknowledged by %(user)s"),
    "supervision_moved_on": N_(
        "case %(case)s has moved on: supervision %(supervision)s asks for nothing"
    ),
    "fix_date_range": N_("the fix date is a day from today to a year ahead"),
    "supervision_answerer": N_(
        "supervision %(supervision)s is answered by the holder (%(holder)s)"
    ),
    "supervision_answered": N_("supervision %(supervision)s was answered by %(user)s"),
    "extension_days": N_("an extension is 1 to %(max)s working days"),
    "no_time_limit_closed": N_("case %(case)s is %(state)s: it has no time limit any more"),
    "holder_asks_time": N_("only the holder (%(holder)s) asks for more time on case %(case)s"),
    "clock_stopped": N_("the clock is stopped while the case waits on the applicant"),
    "stage_no_limit": N_("the stage '%(state)s' has no time limit"),
    "extension_decided_by": N_("extension %(extension)s is decided by %(unit)s"),
    "extension_decided_already": N_("extension %(extension)s was %(status)s already"),
    "stage_ended": N_("the stage '%(state)s' of case %(case)s has ended"),
    "task_step_ended": N_("the step of task %(task)s asked for has ended"),
    "no_task_on_case": N_("no task %(task)s on case %(case)s"),
    "task_unit_asks_time": N_("only %(unit)s asks for more time on its task %(task)s"),
    "task_no_limit": N_("task %(task)s is %(status)s: no time limit runs"),
    "extension_late_stage": N_(
        "an extension is asked before the stage's limit (%(due)s), not after"
    ),
    "extension_late_task": N_("an extension is asked before the task's limit (%(due)s), not after"),
    "extension_pending": N_("extension %(extension)s of this %(what)s is waiting for a decision"),
    # The resident's voice (回访, 好差评, 申诉, 整改).
    "no_rating": N_("no rating %(rating)s"),
    "rating_appealer": N_("a rating is appealed by its handling unit, %(unit)s"),
    "rating_appealed": N_("rating %(rating)s has been appealed already"),
    "uphold_bool": N_("uphold is true or false"),
    "no_appeal": N_("no appeal %(appeal)s"),
    "appeal_decider": N_("an appeal is decided by the district"),
    "appeal_decided": N_("appeal %(appeal)s has been decided already"),
    "say_what_was_done": N_("say what was done"),
    "no_rectification": N_("no rectification %(rectification)s"),
    "rectification_reporter": N_("the rectification is reported by %(unit)s"),
    "rectification_reported": N_("rectification %(rectification)s has been reported already"),
    "link_not_valid": N_("this link is not valid: it has been used, has expired, or never existed"),
    "answer_incomplete": N_("the answer is not complete or not valid"),
    "callback_only": N_("a 回访 is recorded by a callback operator"),
    "callback_of": N_("a callback operator of the district or of %(street)s calls back"),
    "not_own_rating": N_("the handling unit does not record its own rating"),
    "no_feedback": N_("no feedback %(feedback)s"),
    "feedback_answered": N_("feedback %(feedback)s has been answered: no call to make"),
    # Users and api keys.
    "user_name_invalid": N_("a user name is 2-64 letters, digits or _.@-"),
    "role_unknown": N_("role must be one of %(roles)s"),
    "user_unit_unknown": N_("no unit '%(unit)s'; run 'streetflow init' or check the code"),
    "role_unit_kind": N_("a %(role)s belongs to a %(kinds)s, not a %(kind)s"),
    "user_exists": N_("user '%(user)s' exists already"),
    "user_exists_as": N_("user '%(user)s' exists already as '%(as)s' (names ignore case)"),
    "no_user": N_("no user '%(user)s'"),
    "user_enabled_already": N_("user '%(user)s' is enabled already"),
    "key_name_invalid": N_("a key name is 2-64 letters, digits or _.@-"),
    "key_name_reserved": N_(
        "'%(name)s' is the channel of cases opened at a window; choose another name"
    ),
    "key_exists": N_("api key '%(name)s' exists already"),
    # Appraisal (考核) and the street's assessment of its agencies.
    "period_finalized_verify": N_("the records of %(period)s are finalized: verify them instead"),
    "period_finalized_already": N_("the records of %(period)s are finalized already"),
    "period_not_ended": N_("%(period)s has not ended yet: its records can be drafts only"),
    "no_records_for": N_("no appraisal records for %(period)s"),
    "period_not_begun": N_("%(period)s has not begun: a period is assessed once it has started"),
    "not_an_agency": N_("'%(unit)s' is not a stationed agency"),
    "assessor_only": N_("only an administrator of %(street)s assesses %(unit)s"),
    "period_finalized_assessments": N_(
        "the records of %(period)s are finalized: no more assessments"
    ),
    "assessed_already": N_("%(unit)s has been assessed for %(period)s already"),
    "score_range": N_("a score is a number from 0 to 100"),
    "assessment_comment": N_("an assessment needs a comment"),
    # Publishing definitions.
    "not_a_street": N_("'%(street)s' is not a street office"),
    "no_district_route": N_(
        "the district has no route '%(route)s': a street's variant varies one of the "
        "district's routes"
    ),
    "no_variant": N_("%(street)s has no variant of route '%(route)s' in force"),
    # Moving running cases between route versions.
    "changed_while_moving": N_("a case was changed by someone else while moving"),
    "map_not_old_new": N_("'%(pair)s' is not old=new"),
    "state_mapped_twice": N_("state '%(state)s' is mapped twice"),
    # The resident's answer (好差评) by case.
    "case_not_ended": N_("case %(case)s has not ended: the resident is asked once it has"),
    "case_answered": N_("case %(case)s has been answered already (round %(round)s)"),
    # A case's place.
    "bad_location": N_("the location is not valid: %(fields)s"),
    # Reading.
    "trail_auditors": N_("the trail is read by auditors"),
    "appraisal_readers": N_("appraisal records are read by: %(roles)s"),
    "no_appraisal_record": N_("no appraisal record %(record)s"),
    "status_one_of": N_("status is one of %(allowed)s"),
    # Appraisal exports and definitions behind the records.
    "no_records_compute": N_("no appraisal records for %(period)s: run 'appraisal compute' first"),
    "export_file_kind": N_("write a .csv or .xlsx file, not '%(file)s'"),
    "period_form": N_("a period is a month like 2026-11, not '%(period)s'"),
    "period_years": N_("a period lies in the years %(first)s to %(last)s, not '%(period)s'"),
    "no_definition_version": N_("no published %(definition)s definition version %(version)s"),
    "no_appraisal_scheme": N_("no appraisal scheme is published: add definitions/appraisal.yaml"),
    "record_finalized": N_("appraisal record %(record)s is finalized: it cannot be changed"),
    # The published definitions.
    "version_withdraws_variant": N_(
        "%(definition)s %(name)s version %(version)s withdraws a street's variant"
    ),
    "no_published": N_("no published %(definition)s %(name)s %(version)s"),
    "no_item_version": N_("no item '%(item)s' in the list (version %(version)s)"),
    "routing_table_invalid": N_("the routing table of %(street)s is invalid: %(problems)s"),
    "district_publisher": N_(
        "definitions that bind the whole district are published by a district administrator"
    ),
    "street_publisher": N_(
        "only an administrator of %(street)s or of the district publishes for %(street)s"
    ),
    "people_admins": N_("people are managed by an administrator"),
    "own_street_people": N_("an administrator of %(street)s manages the people of %(street)s only"),
    # Passwords.
    "password_short": N_("a password has at least %(min)s characters"),
    "password_spaces": N_("a password cannot be only spaces"),
    "password_repeated": N_("a password cannot be one character repeated"),
    "password_common": N_("this password is one of the most common ones; guessers try it first"),
    "password_is_name": N_("a password cannot be the user name"),
    # A case's files.
    "file_empty": N_("the file is empty"),
    "task_file_names_task": N_("a task's file names its task"),
    "purpose_names_no_task": N_("a file for '%(purpose)s' names no task"),
    "case_has_no_task": N_("case %(case)s has no task %(task)s"),
    "task_files_by": N_("only task %(task)s's unit or the unit in command add its files"),
    "purpose_one_of": N_("purpose is one of %(purposes)s"),
    "role_adds_no_files": N_("a %(role)s does not add files to cases"),
    "case_ended_files": N_("case %(case)s has ended: its files are as they were"),
    "material_not_on_checklist": N_("'%(material)s' is not on item %(item)s's checklist"),
    "material_required": N_("a material names which of the checklist it is"),
    "no_attachment": N_("no attachment %(attachment)s"),
    "auditor_no_files": N_("an auditor reads what was attached (the trail), not the files"),
    # The dispatch centre (指挥中心) and duplicates.
    "not_a_centre": N_("'%(centre)s' is not a dispatch centre"),
    "no_centre": N_("the organisation has no dispatch centre"),
    "not_at_centre": N_("case %(case)s is not at the dispatch centre: it is %(state)s"),
    "centre_dispatchers_only": N_("only a dispatcher of %(unit)s acts on case %(case)s there"),
    "workstation_not_in_street": N_("%(workstation)s is not in the street of %(centre)s"),
    "centre_openers": N_("a dispatcher, a clerk or an outside channel opens a case at the centre"),
    "dispatcher_own_centre": N_("a dispatcher of %(unit)s opens cases at %(unit)s only"),
    "classify_first": N_("classify the case first: it has no item"),
    "place_first": N_("place the case first: it has no community"),
    "not_dispatchable_to": N_("case %(case)s of %(item)s may not be dispatched to '%(target)s'"),
    "not_a_consultation": N_("%(item)s is not a consultation: dispatch it instead"),
    "centre_queue_dispatchers": N_("the dispatch centre's queue is its dispatchers'"),
    "merge_into_itself": N_("a case is not merged into itself"),
    "classify_duplicate_first": N_("classify case %(case)s first: a duplicate is of an item"),
    "merge_by_holder": N_(
        "the dispatcher or clerk holding case %(case)s, before it is accepted, merges it"
    ),
    "merge_into_open": N_("case %(case)s is %(state)s: merge into an open case"),
    # Notifications and webhooks.
    "webhooks_admins": N_("only the district's administrators manage webhooks and deliveries"),
    "bad_url": N_("the URL must be http:// or https:// with a host"),
    "name_an_event": N_("name at least one event"),
    "unknown_event": N_("unknown event '%(event)s'"),
    "secret_length": N_("the secret needs 16 to 200 characters"),
    "channel_length": N_("channel: 1 to 32 characters"),
    "no_webhook": N_("no webhook %(webhook)s"),
    "no_delivery_status": N_("no status '%(status)s'"),
    "no_delivery": N_("no delivery %(delivery)s"),
    "delivery_not_retried": N_(
        "delivery %(delivery)s is %(status)s: only a dead or pending one is retried"
    ),
    "no_notification": N_("no notification %(notification)s for your unit"),
    # Places and hot spots.
    "own_street_hotspots": N_("a street office sees its own street's hot spots, %(street)s"),
    "hotspots_for": N_("hot spots are for the street offices and the district"),
    "period_ends_before": N_("the period ends before it starts"),
    "period_at_most": N_("a period of at most %(days)s days"),
    "day_between": N_("%(field)s: a day between %(first)s and %(last)s"),
    "not_a_phone": N_("%(field)s: not a phone number"),
    # Lists and search.
    "not_a_cursor": N_("not a cursor of this list"),
    "bad_search": N_("bad search: %(fields)s"),
    # Opening and firing (more).
    "workstation_or_location": N_("name a workstation or give a location"),
    "materials_not_list": N_("form.materials is not a list of names"),
    "materials_missing": N_(
        "materials missing: %(materials)s (give a reason to open without them)"
    ),
    "no_trigger_fires": N_("case %(case)s is %(state)s: no trigger fires on it"),
    "trigger_did_not_fire": N_("'%(trigger)s' did not fire on case %(case)s in state '%(state)s'"),
    "takes_no_result": N_("'%(trigger)s' takes no result"),
    "not_dispatch_agency": N_(
        "'%(target)s' is not an agency %(street)s may dispatch item %(item)s to"
    ),
    "move_to_another_version": N_("a case moves to another version"),
    "variant_cases_only": N_(
        "%(route)s version %(version)s is the variant of %(street)s: only %(street)s's cases "
        "move to it"
    ),
    "map_unknown_state": N_("route %(route)s version %(version)s has no state %(states)s"),
    # What the server lacks (503).
    "no_graphviz": N_(
        "route diagrams need Graphviz's dot program, which is not installed on this server"
    ),
}


def plain(value: object) -> object:
    """A parameter as the English wording shows it: a list joined, an empty one 'none'."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return value


def english(code: str, params: Mapping[str, object]) -> str:
    """CODE's English wording with PARAMS; an unknown code is a bug, said as plainly."""
    wording = MESSAGES.get(code)
    if wording is None:
        return code
    return wording % {k: plain(v) for k, v in params.items()}
