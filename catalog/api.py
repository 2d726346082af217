"""Read-only catalog API (public): one view per operation, explicit output serializers."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.permissions import AllowAny

from catalog import selectors
from catalog.models import InsuranceCategory, ServiceItem


class CategoryOutput(serializers.ModelSerializer):
    class Meta:
        model = InsuranceCategory
        fields = ["code", "name", "order"]


class MaterialOutput(serializers.Serializer):
    name = serializers.CharField()
    form = serializers.CharField()
    copies = serializers.IntegerField()
    required = serializers.BooleanField()
    is_key = serializers.BooleanField()
    notes = serializers.CharField()


class ItemSummaryOutput(serializers.ModelSerializer):
    category = serializers.CharField(source="category.code")

    class Meta:
        model = ServiceItem
        fields = ["code", "name", "implementation_code", "business_item_code", "category",
                  "at_counter", "risk_level", "handling_type", "promised_days"]  # fmt: skip


class ItemGuideOutput(serializers.ModelSerializer):
    category = CategoryOutput()
    materials = MaterialOutput(many=True)
    estimated_fields = serializers.SerializerMethodField()

    class Meta:
        model = ServiceItem
        fields = ["code", "name", "implementation_code", "business_item_code", "category",
                  "parent_name", "at_counter", "risk_level",
                  "handling_type", "statutory_days", "promised_days", "visits_required", "fee",
                  "legal_basis", "conditions", "steps", "result", "retention", "source",
                  "estimated_fields", "materials"]  # fmt: skip

    def get_estimated_fields(self, item) -> list[str]:
        return item.estimated_fields.split()


class CategoryListApi(ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = CategoryOutput
    pagination_class = None
    queryset = InsuranceCategory.objects.order_by("order", "code")


AGENCY_PARAMETER = OpenApiParameter(
    "agency", str, description="agency code (default: the deployment's home agency)"
)


@extend_schema(
    parameters=[
        OpenApiParameter("q", str, description="name, code or pinyin initials"),
        OpenApiParameter("category", str, description="category code"),
        AGENCY_PARAMETER,
    ]
)
class ItemListApi(ListAPIView):
    """The items the agency offers (those it switched off are left out)."""

    permission_classes = [AllowAny]
    serializer_class = ItemSummaryOutput

    def get_queryset(self):
        agency_id = selectors.public_agency(self.request.query_params.get("agency")).pk
        query = self.request.query_params.get("q", "")[:50]
        items = (
            selectors.catalog_search(query, limit=1000, agency_id=agency_id)
            if query
            else selectors.counter_items(agency_id)
        )
        category = self.request.query_params.get("category")
        if category:
            items = [item for item in items if item.category.code == category]
        return items


@extend_schema(parameters=[AGENCY_PARAMETER])
class ItemGuideApi(RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = ItemGuideOutput

    def get_object(self):
        agency_id = selectors.public_agency(self.request.query_params.get("agency")).pk
        return get_object_or_404(
            selectors.items_offered(agency_id)
            .select_related("category")
            .prefetch_related("materials"),
            code=self.kwargs["code"],
        )
