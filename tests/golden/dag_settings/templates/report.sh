echo {{ quarter(ds) }} {{ params.region | shout }}
