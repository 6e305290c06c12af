echo {{ to_json(params) | quote }}
