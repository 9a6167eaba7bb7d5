from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0007_platform_marketing_account"),
    ]

    operations = [
        migrations.AddField(
            model_name="payment",
            name="channel",
            field=models.CharField(blank=True, default="", max_length=8),
        ),
    ]
