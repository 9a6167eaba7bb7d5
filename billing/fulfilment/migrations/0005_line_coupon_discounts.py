# Coupon discounts per supplier order line and per return line (issue 12): a return reverses them.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("fulfilment", "0004_model_verbose_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="supplierorderline",
            name="creator_discount_fen",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="supplierorderline",
            name="platform_discount_fen",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="returncaseline",
            name="creator_discount_fen",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="returncaseline",
            name="platform_discount_fen",
            field=models.PositiveBigIntegerField(default=0),
        ),
    ]
