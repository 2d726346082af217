"""The peer: django-viewflow running the same level-2 chain as the hall — a ticket
starts the process, the clerk handles it (intake), a reviewer drawn at random reviews
it, an approver drawn at random approves it. Process rows are locked with SELECT … FOR
UPDATE, as viewflow recommends on PostgreSQL."""

import random

from django.contrib.auth import get_user_model
from viewflow import this
from viewflow.workflow import flow, lock
from viewflow.workflow.flow import Flow

_random = random.SystemRandom()


class HallChainFlow(Flow):
    lock_impl = lock.select_for_update_lock

    start = flow.StartHandle(this.ticket_issue).Next(this.intake)
    intake = flow.Handle(this.case_accept).Next(this.review)
    review = flow.ManualTask().Assign(this.draw_reviewer).Next(this.approval)
    approval = flow.ManualTask().Assign(this.draw_approver).Next(this.end)
    end = flow.End()

    def ticket_issue(self, activation, item_id, clerk_id):
        activation.process.data = {"item": item_id, "clerk": clerk_id}
        return activation.process

    def case_accept(self, activation, applicant_name, id_number, materials):
        activation.process.data.update(
            {"applicant": applicant_name, "id_number": id_number, "materials": materials}
        )
        activation.process.save()

    def _draw(self, activation, role):
        people = self.deciders[role]
        clerk = activation.process.data["clerk"]
        return _random.choice([user for user in people if user.pk != clerk])

    def draw_reviewer(self, activation):
        return self._draw(activation, "review")

    def draw_approver(self, activation):
        return self._draw(activation, "approval")

    @property
    def deciders(self):
        if not hasattr(self, "_deciders"):
            users = list(get_user_model().objects.filter(username__startswith="peer-decider"))
            self._deciders = {"review": users, "approval": users}
        return self._deciders
