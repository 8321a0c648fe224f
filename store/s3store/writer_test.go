package s3store_test

const writerEnv = "COMPLY_S3_WRITER"

func writerMain() int { return 0 }
