@browser
Feature: The user acts in a real browser
  The same flows as elsewhere, with the person using mock-link's pages in
  headless Chromium instead of the control API: the verification page, the
  approval page and the 3-D Secure page. Where Chromium and chromedriver are
  not installed these scenarios are not applicable (under CI=true they run and
  fail). Select them with --tags @browser, leave them out with 'not @browser'.

  @AUTH-02 @auth @polling
  Scenario: A login approved on the verification page in a browser ends authenticated
    Given a user who is not logged in
    When the agent starts "auth login --client-name 'Browser Bot'"
    Then the first object has a "verification_url" starting with "{link}/"
    When the user approves the login in the browser
    And the agent finishes the login
    Then it succeeds
    And the output field "authenticated" is "true"

  @SR-05 @card @polling
  Scenario: Polling ends with the approved request when the user approves in a browser
    Given a logged-in user with a default card
    And a card spend request pending approval
    When the agent starts "spend-request retrieve {id} --interval 0.1 --max-attempts 300"
    And the user approves the spend request in the browser
    And the agent's command finishes
    Then it succeeds
    And the output field "status" is "approved"

  @SR-06 @card @polling
  Scenario: Polling ends with denied when the user denies in a browser, and no card is returned
    Given a logged-in user with a default card
    And a card spend request pending approval
    When the agent starts "spend-request retrieve {id} --include card --interval 0.1 --max-attempts 300"
    And the user denies the spend request in the browser
    And the agent's command finishes
    Then it succeeds
    And the output field "status" is "denied"
    And the output shows no card details
    And Link issued no credential

  @SR-11 @card @polling
  Scenario: Polling continues through 3-D Secure completed in a browser to approval
    Given a logged-in user with a default card
    And a card spend request pending approval
    And the issuer asked for 3-D Secure on the spend request
    When the agent starts "spend-request retrieve {id} --interval 0.1 --max-attempts 300"
    And the user completes 3-D Secure in the browser
    And the agent's command finishes
    Then it succeeds
    And the output field "status" is "approved"
