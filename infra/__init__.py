"""The CDK app of imgpro: one construct per concern, composed in `infra.stack`."""
